package tunnel

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/policy"
)

// TLSProvider gives the tunnel its TLS configs; *identity.Store satisfies it.
type TLSProvider interface {
	// ServerConfig is the config of the accepting end; it picks the local
	// workload's certificate by SNI and refuses unknown names.
	ServerConfig() *tls.Config
	// ClientConfig is the config for a tunnel from workload source to
	// workload target (the server must prove exactly target).
	ClientConfig(source, target string, pins []string) (*tls.Config, error)
	// Recheck re-verifies an established connection's peer against the
	// current bundle, CRLs and certificates.
	Recheck(cs tls.ConnectionState) error
}

// Resolver finds the tunnel addresses (host:port) serving a workload ID,
// best first. It is called once per accepted upstream connection.
type Resolver interface {
	Resolve(target string) []string
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(target string) []string

// Resolve calls f.
func (f ResolverFunc) Resolve(target string) []string { return f(target) }

// Authorizer answers a policy question. It reads the current policy on
// every call, so a reload is seen by the next stream.
type Authorizer func(policy.Request) policy.Decision

// Upstream is a local listener whose connections are carried to Target on
// behalf of local workload Source.
type Upstream struct {
	Source string   // local workload SPIFFE ID (the client certificate)
	Name   string   // the upstream's name, for logs and errors
	Listen string   // host:port
	Target string   // remote workload SPIFFE ID
	Port   int      // target's exposed port; 0 = its only port
	Pins   []string // optional SPKI pins of the target's key
}

func (u Upstream) key() string { return u.Source + "\x00" + u.Name }

// Expose makes a local backend reachable by tunnel streams to Workload on Port.
type Expose struct {
	Workload string // local workload SPIFFE ID
	Port     int
	Backend  string // host:port
}

// Config configures a Tunnel. A zero duration or limit means its default
// (see DefaultConfig); negative values are invalid.
type Config struct {
	// Listen is the inbound tunnel host:port; "" = no inbound listener.
	Listen    string
	Upstreams []Upstream
	Exposes   []Expose

	// Limits (doc.go, "Limits", says what each one bounds and why).
	HandshakeTimeout  time.Duration // inbound TLS handshake and stream header deadline; 10s
	MaxHandshakes     int           // concurrent inbound TLS handshakes (a quarter of them from one source IP); 256
	StreamsPerSession int           // open streams per outbound session before another is opened (an inbound session takes twice as many, and so many await their header per peer at most); 512
	SessionsPerPeer   int           // outbound sessions per (source, target, address); 8
	ConnsPerUpstream  int           // accepted connections per upstream listener; 4096
	// MaxStreams caps the streams open at once across every session, both
	// directions (an inbound stream counts once its header is read and
	// policy allowed it; until then it counts against the pending bounds,
	// doc.go); 4096. With StreamWindow it bounds the memory held in stream
	// receive buffers: MaxStreams x StreamWindow.
	MaxStreams int
	// StreamWindow is the largest receive window of one stream in bytes,
	// the most a stream whose reader stalls can buffer; 1 MiB, at least
	// 256 KiB (yamux's initial window). It also caps one stream's
	// throughput at StreamWindow / RTT (1 MiB: 1 Gbit/s at 8 ms).
	StreamWindow int
	// HandshakesPerIP bounds the inbound handshakes in progress from one
	// source IP; MaxHandshakes/4 (at least 1).
	HandshakesPerIP int
	// PendingPerPeer bounds one peer's (SPIFFE ID's) inbound streams whose
	// header is not read yet; min(2 x StreamsPerSession, MaxStreams/4).
	PendingPerPeer     int
	DialTimeout        time.Duration // TCP + TLS + tunnel confirmation to a peer; 5s
	BackendDialTimeout time.Duration // dial of a local backend; 5s

	TLS       TLSProvider // required
	Resolver  Resolver    // required when there are upstreams
	Authorize Authorizer  // required

	// Logger is the parent logger; nil = no logging. The tunnel logs on the
	// sub-loggers "inbound", "outbound", "yamux" and "access".
	Logger  hclog.Logger
	Metrics Metrics // nil = NopMetrics

	// limits is not configuration: it is the state of the per-IP and
	// per-peer limits of the one Tunnel built from this Config, made by
	// withDefaults, which New calls once per Tunnel.
	limits *inboundLimits
}

// DefaultConfig returns a Config with every limit at its default; the
// caller sets Listen, the workloads' upstreams and exposes, and the hooks.
func DefaultConfig() Config {
	return Config{
		HandshakeTimeout:   10 * time.Second,
		MaxHandshakes:      256,
		StreamsPerSession:  512,
		SessionsPerPeer:    8,
		ConnsPerUpstream:   4096,
		MaxStreams:         4096,
		StreamWindow:       1 << 20,
		DialTimeout:        5 * time.Second,
		BackendDialTimeout: 5 * time.Second,
	}
}

// withDefaults returns c with every zero limit replaced by its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.HandshakeTimeout, d.HandshakeTimeout)
	setDur(&c.DialTimeout, d.DialTimeout)
	setDur(&c.BackendDialTimeout, d.BackendDialTimeout)
	setInt(&c.MaxHandshakes, d.MaxHandshakes)
	setInt(&c.StreamsPerSession, d.StreamsPerSession)
	setInt(&c.SessionsPerPeer, d.SessionsPerPeer)
	setInt(&c.ConnsPerUpstream, d.ConnsPerUpstream)
	setInt(&c.MaxStreams, d.MaxStreams)
	setInt(&c.StreamWindow, d.StreamWindow)
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Metrics == nil {
		c.Metrics = NopMetrics{}
	}
	c.limits = newInboundLimits(&c)
	return c
}

// Validate reports every problem of c in one error wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"handshake timeout", c.HandshakeTimeout}, {"dial timeout", c.DialTimeout},
		{"backend dial timeout", c.BackendDialTimeout},
	} {
		if d.v < 0 {
			add("%s %s is negative", d.name, d.v)
		}
	}
	for _, l := range []struct {
		name string
		v    int
	}{
		{"max handshakes", c.MaxHandshakes}, {"streams per session", c.StreamsPerSession},
		{"sessions per peer", c.SessionsPerPeer}, {"conns per upstream", c.ConnsPerUpstream},
		{"max streams", c.MaxStreams}, {"stream window", c.StreamWindow},
		{"handshakes per IP", c.HandshakesPerIP}, {"pending streams per peer", c.PendingPerPeer},
	} {
		if l.v < 0 {
			add("%s %d is negative", l.name, l.v)
		}
	}
	if c.StreamWindow > 0 && (c.StreamWindow < minStreamWindow || c.StreamWindow > maxStreamWindow) {
		add("stream window %d is outside %d..%d bytes", c.StreamWindow, minStreamWindow, maxStreamWindow)
	}
	if c.TLS == nil {
		add("no TLS provider")
	}
	if c.Authorize == nil {
		add("no authorizer")
	}
	if len(c.Upstreams) > 0 && c.Resolver == nil {
		add("upstreams but no resolver")
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			add("listen %q: %v", c.Listen, err)
		}
	}
	probs = append(probs, validateUpstreams(c.Upstreams)...)
	probs = append(probs, validateExposes(c.Exposes)...)
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(probs, "; "))
}

func validateUpstreams(ups []Upstream) []string {
	var probs []string
	seen := map[string]bool{}
	for _, u := range ups {
		where := fmt.Sprintf("upstream %q of workload %s", u.Name, u.Source)
		if u.Source == "" || u.Target == "" {
			probs = append(probs, where+": source and target are required")
		}
		if _, _, err := net.SplitHostPort(u.Listen); err != nil {
			probs = append(probs, fmt.Sprintf("%s: listen %q: %v", where, u.Listen, err))
		}
		if u.Port < 0 || u.Port > 65535 {
			probs = append(probs, fmt.Sprintf("%s: port %d out of range", where, u.Port))
		}
		if seen[u.key()] {
			probs = append(probs, where+": defined twice")
		}
		seen[u.key()] = true
	}
	return probs
}

func validateExposes(exps []Expose) []string {
	var probs []string
	seen := map[string]bool{}
	for _, e := range exps {
		where := fmt.Sprintf("expose of port %d of workload %s", e.Port, e.Workload)
		if e.Workload == "" {
			probs = append(probs, where+": workload is required")
		}
		if e.Port < 1 || e.Port > 65535 {
			probs = append(probs, where+": port out of range")
		}
		if _, _, err := net.SplitHostPort(e.Backend); err != nil {
			probs = append(probs, fmt.Sprintf("%s: backend %q: %v", where, e.Backend, err))
		}
		k := fmt.Sprintf("%s\x00%d", e.Workload, e.Port)
		if seen[k] {
			probs = append(probs, where+": defined twice")
		}
		seen[k] = true
	}
	return probs
}
