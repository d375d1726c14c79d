package main

import (
	"fmt"
	"time"
)

// Metric keys, as in the JSON.
const (
	mMBps1      = "mbps_1_stream"
	mMBpsN      = "mbps_n_streams"
	mP50        = "p50_us"
	mP99        = "p99_us"
	mConnRate   = "conns_per_s"
	mConnErrors = "conn_errors"
	mRSSPerConn = "rss_kib_per_idle_conn"
)

// phase is one measurement, run once per system per round.
type phase struct {
	name string
	run  func(s *system) (map[string]float64, error)
}

func phases(o *options) []phase {
	return []phase{
		{"throughput 1 stream", func(s *system) (map[string]float64, error) {
			v, err := throughput(s.Sink, 1, o.BulkTime)
			return map[string]float64{mMBps1: v}, err
		}},
		{fmt.Sprintf("throughput %d streams", o.Streams), func(s *system) (map[string]float64, error) {
			v, err := throughput(s.Sink, o.Streams, o.BulkTime)
			return map[string]float64{mMBpsN: v}, err
		}},
		{"echo latency", func(s *system) (map[string]float64, error) {
			lat, err := latency(s.Echo, o.LatencyTime)
			if err != nil {
				return nil, err
			}
			return map[string]float64{
				mP50: float64(percentile(lat, 50).Nanoseconds()) / 1e3,
				mP99: float64(percentile(lat, 99).Nanoseconds()) / 1e3,
			}, nil
		}},
		{"connection rate", func(s *system) (map[string]float64, error) {
			rate, fails, err := connRate(s.Echo, o.Clients, o.RateTime)
			if rate == 0 && err != nil {
				return nil, err
			}
			// The proxies close their ends after the app: give them a
			// moment so that the next phase starts from a quiet system.
			time.Sleep(200 * time.Millisecond)
			return map[string]float64{mConnRate: rate, mConnErrors: float64(fails)}, nil
		}},
		{"idle connections", func(s *system) (map[string]float64, error) {
			if len(s.specs) == 0 {
				return nil, nil // nothing between app and backend to weigh
			}
			// Fresh processes: the bulk phases leave freed buffers that a
			// Go runtime returns to the OS only slowly, which would make
			// the RSS growth of this phase meaningless.
			if err := s.start(); err != nil {
				return nil, fmt.Errorf("restart: %w", err)
			}
			time.Sleep(o.IdleSettle)
			kib, err := idleConns(s.Echo, o.IdleConns, s.PIDs(), o.IdleSettle, nil)
			time.Sleep(time.Second) // let the proxies tear the connections down
			return map[string]float64{mRSSPerConn: kib}, err
		}},
	}
}
