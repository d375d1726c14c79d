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
	// CPU time the path's processes used per unit of work: a figure that
	// other load on the machine disturbs far less than the rates.
	mCPUPerGB1 = "cpu_s_per_gb_1_stream"
	mCPUPerGBN = "cpu_s_per_gb_n_streams"
	mCPUPerRT  = "cpu_us_per_round_trip"
	mCPUPerCon = "cpu_us_per_conn"
)

// phase is one measurement, run once per system per round.
type phase struct {
	name string
	run  func(s *system) (map[string]float64, error)
}

// withCPU runs f and returns the CPU time s's processes used meanwhile
// (zero for a path without processes).
func withCPU(s *system, f func() error) (time.Duration, error) {
	pids := s.PIDs()
	before, err := cpuTime(pids)
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := cpuTime(pids)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}

// per sets m[key] to cpu/n in unit; it sets nothing for a path without
// processes or when no work was done.
func per(m map[string]float64, key string, s *system, cpu time.Duration, n float64, unit time.Duration) {
	if len(s.specs) == 0 || n <= 0 {
		return
	}
	m[key] = float64(cpu) / float64(unit) / n
}

func phases(o *options) []phase {
	bulk := func(streams int, kRate, kCPU string) func(s *system) (map[string]float64, error) {
		return func(s *system) (map[string]float64, error) {
			var rate float64
			var bytes int64
			cpu, err := withCPU(s, func() (err error) {
				rate, bytes, err = throughput(s.Sink, streams, o.BulkTime)
				return err
			})
			m := map[string]float64{kRate: rate}
			per(m, kCPU, s, cpu, float64(bytes)/1e9, time.Second)
			return m, err
		}
	}
	return []phase{
		{"throughput 1 stream", bulk(1, mMBps1, mCPUPerGB1)},
		{fmt.Sprintf("throughput %d streams", o.Streams), bulk(o.Streams, mMBpsN, mCPUPerGBN)},
		{"echo latency", func(s *system) (map[string]float64, error) {
			var lat []time.Duration
			cpu, err := withCPU(s, func() (err error) {
				lat, err = latency(s.Echo, o.LatencyTime)
				return err
			})
			if err != nil {
				return nil, err
			}
			m := map[string]float64{
				mP50: float64(percentile(lat, 50).Nanoseconds()) / 1e3,
				mP99: float64(percentile(lat, 99).Nanoseconds()) / 1e3,
			}
			per(m, mCPUPerRT, s, cpu, float64(len(lat)+warmupRoundTrips), time.Microsecond)
			return m, nil
		}},
		{"connection rate", func(s *system) (map[string]float64, error) {
			var rate float64
			var n, fails int64
			var rateErr error
			cpu, err := withCPU(s, func() error {
				rate, n, fails, rateErr = connRate(s.Echo, o.Clients, o.RateTime)
				if n == 0 {
					return rateErr
				}
				// The proxies close their ends after the app: let them
				// finish (counted in the CPU time) before the next phase.
				time.Sleep(200 * time.Millisecond)
				return nil
			})
			if err != nil {
				return nil, err
			}
			m := map[string]float64{mConnRate: rate, mConnErrors: float64(fails)}
			per(m, mCPUPerCon, s, cpu, float64(n), time.Microsecond)
			return m, nil
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
