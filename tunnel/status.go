package tunnel

import (
	"sort"
	"time"
)

// Status is a snapshot of the data plane for the admin API.
type Status struct {
	Tunnels   []TunnelStatus   `json:"tunnels"`
	Upstreams []UpstreamStatus `json:"upstreams"`
	Streams   []StreamStatus   `json:"streams"`
	Totals    Totals           `json:"totals"`
}

// TunnelStatus is one session. Source is the calling workload, Target the
// called one; Peer is the dialed address (outbound) or the remote address
// (inbound).
type TunnelStatus struct {
	Source    string    `json:"source"`
	Target    string    `json:"target"`
	Peer      string    `json:"peer"`
	Direction string    `json:"direction"`
	Streams   int       `json:"streams"`
	OpenedAt  time.Time `json:"opened_at"`
}

// UpstreamStatus is one upstream listener.
type UpstreamStatus struct {
	Source string `json:"source"`
	Name   string `json:"name"`
	Listen string `json:"listen"` // the bound address
	Target string `json:"target"`
	Port   int    `json:"port"`
	Conns  int64  `json:"conns"`
}

// StreamStatus is one live stream.
type StreamStatus struct {
	Direction string    `json:"direction"`
	Source    string    `json:"source"`
	Target    string    `json:"target"`
	Port      int       `json:"port"`
	Rule      string    `json:"rule"`
	BytesOut  int64     `json:"bytes_out"`
	BytesIn   int64     `json:"bytes_in"`
	StartedAt time.Time `json:"started_at"`
}

// Totals sums the snapshot.
type Totals struct {
	Tunnels         int   `json:"tunnels"`
	InboundTunnels  int   `json:"inbound_tunnels"`
	OutboundTunnels int   `json:"outbound_tunnels"`
	Streams         int   `json:"streams"`
	InboundStreams  int   `json:"inbound_streams"`
	OutboundStreams int   `json:"outbound_streams"`
	UpstreamConns   int64 `json:"upstream_conns"`
}

// Status returns a snapshot of the tunnels, upstreams and live streams.
func (t *Tunnel) Status() Status {
	st := Status{Tunnels: []TunnelStatus{}, Upstreams: []UpstreamStatus{}, Streams: []StreamStatus{}}
	perSession := map[*session]int{}
	for _, ls := range t.reg.snapshot() {
		perSession[ls.sess]++
		st.Streams = append(st.Streams, StreamStatus{
			Direction: ls.direction, Source: ls.source, Target: ls.target, Port: ls.port,
			Rule: ls.rule, BytesOut: ls.bytesOut.Load(), BytesIn: ls.bytesIn.Load(), StartedAt: ls.start,
		})
		st.Totals.Streams++
		if ls.direction == DirInbound {
			st.Totals.InboundStreams++
		} else {
			st.Totals.OutboundStreams++
		}
	}
	for _, s := range t.sessionList() {
		st.Tunnels = append(st.Tunnels, TunnelStatus{
			Source: s.source, Target: s.target, Peer: s.addr, Direction: s.direction,
			Streams: perSession[s], OpenedAt: s.openedAt,
		})
		st.Totals.Tunnels++
		if s.direction == DirInbound {
			st.Totals.InboundTunnels++
		} else {
			st.Totals.OutboundTunnels++
		}
	}
	sort.Slice(st.Tunnels, func(i, j int) bool { return st.Tunnels[i].OpenedAt.Before(st.Tunnels[j].OpenedAt) })
	t.mu.Lock()
	for _, ul := range t.upstreams {
		u := ul.up.Load()
		n := ul.conns.Load()
		st.Upstreams = append(st.Upstreams, UpstreamStatus{
			Source: u.Source, Name: u.Name, Listen: ul.ln.Addr().String(), Target: u.Target,
			Port: u.Port, Conns: n,
		})
		st.Totals.UpstreamConns += n
	}
	t.mu.Unlock()
	sort.Slice(st.Upstreams, func(i, j int) bool {
		a, b := st.Upstreams[i], st.Upstreams[j]
		return a.Source < b.Source || (a.Source == b.Source && a.Name < b.Name)
	})
	return st
}
