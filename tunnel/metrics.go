package tunnel

import (
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Label values the tunnel passes to Metrics. They are bounded sets.
const (
	DirInbound  = "inbound"  // a tunnel accepted from a peer / bytes from the tunnel to a backend
	DirOutbound = "outbound" // a tunnel dialed to a peer / bytes from an app into the tunnel

	ResultOK     = "ok"
	ResultFailed = "failed"
	ResultDenied = "denied"
	// ResultOverloaded is a handshake refused because MaxHandshakes were in
	// progress, or an upstream connection refused at ConnsPerUpstream.
	ResultOverloaded = "overloaded"
)

// Metrics receives the tunnel's measurements. The agent implements it with
// Prometheus; every method must be cheap and safe for concurrent use. Label
// values are workload IDs, rule names and the constants above, never
// addresses or ports.
type Metrics interface {
	// Handshake is one TLS handshake (+ tunnel confirmation when outbound):
	// direction DirInbound/DirOutbound, result ResultOK/ResultFailed/
	// ResultOverloaded, reason "" on success.
	Handshake(direction, result string, reason identity.Reason, d time.Duration)
	// Stream is one stream's outcome at open time: ResultOK (opened),
	// ResultDenied or ResultFailed. Direction as above.
	Stream(direction, source, target, result string)
	// ActiveStreams and ActiveTunnels move the gauges by delta.
	ActiveStreams(direction string, delta int)
	ActiveTunnels(direction string, delta int)
	// StreamBytes returns the byte counter of one direction of a stream,
	// called once per stream and direction; the tunnel calls the returned
	// func with the bytes of every read, so it must be cheap (resolve labels
	// here, not per call). DirOutbound = from the local app into the
	// tunnel, DirInbound = from the tunnel to the local app or backend.
	StreamBytes(direction, source, target string) func(n int)
	// PolicyDecision is one policy decision ("allow"/"deny") and its rule.
	PolicyDecision(decision, rule string)
	// UpstreamRefused counts a connection refused by an upstream listener
	// at its ConnsPerUpstream limit or at the tunnel's MaxStreams.
	UpstreamRefused(source, upstream string)
}

// NopMetrics discards every measurement.
type NopMetrics struct{}

func (NopMetrics) Handshake(string, string, identity.Reason, time.Duration) {}
func (NopMetrics) Stream(string, string, string, string)                    {}
func (NopMetrics) ActiveStreams(string, int)                                {}
func (NopMetrics) ActiveTunnels(string, int)                                {}
func (NopMetrics) StreamBytes(string, string, string) func(int)             { return func(int) {} }
func (NopMetrics) PolicyDecision(string, string)                            {}
func (NopMetrics) UpstreamRefused(string, string)                           {}
