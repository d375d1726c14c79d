package config

import "time"

// Config is the validated runtime form of an agent config file (DESIGN §5).
// Every path in it is absolute, every default is filled in, and every value
// has been checked: the agent never re-validates it.
type Config struct {
	File      string // absolute path of the config file it came from
	NodeName  string // default: os.Hostname()
	DataDir   string // default: /var/lib/ztunnel
	LogLevel  string // trace|debug|info|warn|error; default info
	LogFormat string // text|json; default text

	// ShutdownTimeout bounds the drain on SIGTERM; default 30s.
	ShutdownTimeout time.Duration

	// MaxProcs is how many CPUs the agent's Go code runs on at once
	// (GOMAXPROCS); 0, the default, means half the CPUs the process may
	// use, at least one. A GOMAXPROCS environment variable overrides it.
	MaxProcs int

	Trust     Trust
	Tunnel    Tunnel
	Gossip    *Gossip // nil when the file has no gossip block
	Admin     Admin
	Policy    Policy
	Workloads []Workload
	Peers     []Peer

	// positions: where each listen address is set ("file:line:col"), for
	// Where.
	positions map[string]string

	// Warnings are problems that do not stop the agent (for example a
	// private key readable by others). The agent logs each one at start.
	Warnings []string
}

// Trust is the trust block.
type Trust struct {
	TrustDomain string   // e.g. "example.org"; required
	Bundle      string   // PEM file of CA certificates; required
	CRLs        []string // PEM or DER CRL files; optional
	Revocation  string   // "fail_closed" (default) or "fail_open"
}

// Tunnel is the tunnel block: the inbound tunnel port and the data-plane
// limits. Every limit has a safe default; zero is never "unlimited".
type Tunnel struct {
	Listen string // host:port; default "0.0.0.0:15008"
	// Advertise is the host:port told to peers; default derived from
	// Listen (see the package doc). Its port is 0 when Listen's port is 0:
	// the agent then advertises the port it bound.
	Advertise string

	HandshakeTimeout   time.Duration // default 10s
	MaxHandshakes      int           // concurrent inbound TLS handshakes; default 256
	StreamsPerSession  int           // open streams per outbound session; default 512
	SessionsPerPeer    int           // outbound sessions per (source, target, peer); default 8
	ConnsPerUpstream   int           // accepted connections per upstream listener; default 4096
	MaxStreams         int           // open streams across all sessions, both directions; default 4096
	HandshakesPerIP    int           // inbound handshakes in progress from one source IP; default MaxHandshakes/4 (at least 1)
	PendingPerPeer     int           // one peer's inbound streams awaiting their header; default min(2 x StreamsPerSession, MaxStreams/4)
	StreamWindow       int           // per-stream receive window, bytes; default 1 MiB (memory bound: MaxStreams x StreamWindow)
	DialTimeout        time.Duration // TCP dial + TLS handshake to a peer; default 5s
	BackendDialTimeout time.Duration // dial of a local backend; default 5s
}

// Gossip is the gossip block (discovery by memberlist).
type Gossip struct {
	Listen    string   // host:port; default "0.0.0.0:7946"
	Advertise string   // host:port; default derived from Listen
	Join      []string // host:port of members to join
	KeyFile   string   // base64 keys, one per line, first is primary; required
}

// Admin is the admin block. Listen is host:port on loopback, or an absolute
// path of a unix socket.
type Admin struct {
	Listen string // default "127.0.0.1:15000"
	Pprof  bool   // serve /debug/pprof/; default false
	// MetricsListen, when set, is host:port (any address) of a listener
	// serving only /metrics, /healthz and /readyz; default "" (none).
	MetricsListen string
}

// Policy is the policy block. File is "" when the config has no policy
// block: the agent then denies every stream (and warns at start).
type Policy struct {
	File string
}

// Workload is one local workload: its identity and certificate source, the
// local ports that reach remote workloads (Upstreams) and the ports it
// accepts tunnel streams on (Expose).
type Workload struct {
	Name string // the block label
	ID   string // SPIFFE ID, validated

	// Exactly one of (Cert, Key) and Enroll is set.
	Cert   string
	Key    string
	Enroll *Enroll

	Upstreams []Upstream
	Expose    []Expose
}

// Upstream is a local listener whose connections are carried to Target.
type Upstream struct {
	Name   string // the block label
	Listen string // host:port
	Target string // SPIFFE ID of the remote workload
	Port   int    // the target's exposed port; 0 = the target's only port
	Pins   []string
}

// Expose makes a local backend reachable by tunnel streams for Port.
type Expose struct {
	Port    int
	Backend string // host:port
}

// Enroll is a workload's enroll block: its certificate comes from a CA server.
type Enroll struct {
	Server    string // host:port of `ztunnel ca serve`
	TokenFile string
}

// Peer is a static peer block.
type Peer struct {
	Name      string
	Address   string   // tunnel host:port
	Workloads []string // SPIFFE IDs served there
}

// Where returns where key (a listen key such as "tunnel.listen" or
// "workload.web.upstream.api.listen") is set, as "file:line:col", or the
// file's path when the key holds its default.
func (c *Config) Where(key string) string {
	if p, ok := c.positions[key]; ok {
		return p
	}
	return c.File
}
