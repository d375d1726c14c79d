package config

import "github.com/hashicorp/hcl/v2"

// The structs in this file are the user API: the exact schema of the agent
// config file (DESIGN §5 plus the extensions marked below). Each field's tag
// is its HCL name; ",block" marks a block (a pointer: at most one; a slice:
// any number), ",label" a block label and ",range" the block's position.
// The decoder in decode.go fills them from hclsyntax; Load turns them into a
// Config. Values keep their source range so that every problem points at
// the attribute it is about.

// fileConfig is the top level of the file.
type fileConfig struct {
	NodeName        attrString `hcl:"node_name"`        // default: os.Hostname()
	DataDir         attrString `hcl:"data_dir"`         // default: /var/lib/ztunnel
	LogLevel        attrString `hcl:"log_level"`        // trace|debug|info|warn|error
	LogFormat       attrString `hcl:"log_format"`       // text|json
	ShutdownTimeout attrString `hcl:"shutdown_timeout"` // duration, default "30s"
	MaxProcs        attrInt    `hcl:"max_procs"`        // extension: CPUs the agent runs on, 0 = auto

	Trust     *fileTrust     `hcl:"trust,block"` // required
	Tunnel    *fileTunnel    `hcl:"tunnel,block"`
	Gossip    *fileGossip    `hcl:"gossip,block"`
	Admin     *fileAdmin     `hcl:"admin,block"`
	Policy    *filePolicy    `hcl:"policy,block"`
	Workloads []fileWorkload `hcl:"workload,block"`
	Peers     []filePeer     `hcl:"peer,block"`
}

type fileTrust struct {
	Range       hcl.Range   `hcl:",range"`
	TrustDomain attrString  `hcl:"trust_domain"` // required
	Bundle      attrString  `hcl:"bundle"`       // required
	CRLs        attrStrings `hcl:"crls"`
	Revocation  attrString  `hcl:"revocation"` // fail_closed (default) | fail_open
}

type fileTunnel struct {
	Range            hcl.Range  `hcl:",range"`
	Listen           attrString `hcl:"listen"`
	Advertise        attrString `hcl:"advertise"`
	HandshakeTimeout attrString `hcl:"handshake_timeout"`

	// Extensions to DESIGN §5: data-plane limits and dial timeouts.
	MaxHandshakes      attrInt    `hcl:"max_handshakes"`           // concurrent inbound TLS handshakes, default 256
	StreamsPerSession  attrInt    `hcl:"streams_per_session"`      // open streams per outbound session, default 512
	SessionsPerPeer    attrInt    `hcl:"sessions_per_peer"`        // outbound sessions per (source, target, peer), default 8
	ConnsPerUpstream   attrInt    `hcl:"conns_per_upstream"`       // connections per upstream listener, default 4096
	MaxStreams         attrInt    `hcl:"max_streams"`              // open streams across all sessions, default 4096
	HandshakesPerIP    attrInt    `hcl:"max_handshakes_per_ip"`    // inbound handshakes in progress from one source IP, default max_handshakes/4
	PendingPerPeer     attrInt    `hcl:"pending_streams_per_peer"` // one peer's inbound streams awaiting their header, default min(2 x streams_per_session, max_streams/4)
	StreamWindow       attrInt    `hcl:"stream_window"`            // per-stream receive window in bytes, default 1 MiB
	DialTimeout        attrString `hcl:"dial_timeout"`             // TCP dial + TLS handshake to a peer, default "5s"
	BackendDialTimeout attrString `hcl:"backend_dial_timeout"`     // dial of a local backend, default "5s"
}

type fileGossip struct {
	Range     hcl.Range   `hcl:",range"`
	Listen    attrString  `hcl:"listen"`
	Advertise attrString  `hcl:"advertise"`
	Join      attrStrings `hcl:"join"`
	KeyFile   attrString  `hcl:"key_file"` // required
}

type fileAdmin struct {
	Range  hcl.Range  `hcl:",range"`
	Listen attrString `hcl:"listen"`
	Pprof  attrBool   `hcl:"pprof"` // extension: serve /debug/pprof/, default false
	// Extension: a second listener, on any address, serving only /metrics,
	// /healthz and /readyz, for a Prometheus on another host.
	MetricsListen attrString `hcl:"metrics_listen"`
}

type filePolicy struct {
	Range hcl.Range  `hcl:",range"`
	File  attrString `hcl:"file"` // required inside the block
}

type fileWorkload struct {
	Range     hcl.Range      `hcl:",range"`
	Name      attrString     `hcl:"name,label"`
	ID        attrString     `hcl:"id"`
	Cert      attrString     `hcl:"cert"`
	Key       attrString     `hcl:"key"`
	Enroll    *fileEnroll    `hcl:"enroll,block"`
	Upstreams []fileUpstream `hcl:"upstream,block"` // extension: any number
	Expose    []fileExpose   `hcl:"expose,block"`   // extension: any number
}

type fileUpstream struct {
	Range  hcl.Range   `hcl:",range"`
	Name   attrString  `hcl:"name,label"`
	Listen attrString  `hcl:"listen"`
	Target attrString  `hcl:"target"`
	Port   attrInt     `hcl:"port"`
	Pin    attrStrings `hcl:"pin"`
}

type fileExpose struct {
	Range   hcl.Range  `hcl:",range"`
	Port    attrInt    `hcl:"port"`
	Backend attrString `hcl:"backend"`
}

type fileEnroll struct {
	Range     hcl.Range  `hcl:",range"`
	Server    attrString `hcl:"server"`
	TokenFile attrString `hcl:"token_file"`
}

type filePeer struct {
	Range     hcl.Range   `hcl:",range"`
	Name      attrString  `hcl:"name,label"`
	Address   attrString  `hcl:"address"`
	Workloads attrStrings `hcl:"workloads"`
}

// attrString is a string attribute (or a block label).
type attrString struct {
	Value string
	Set   bool
	Range hcl.Range // the value's range; for a label, the label's range
}

// attrInt is a whole-number attribute.
type attrInt struct {
	Value int
	Set   bool
	Range hcl.Range
}

// attrBool is a bool attribute.
type attrBool struct {
	Value bool
	Set   bool
	Range hcl.Range
}

// attrStrings is a list-of-strings attribute; Ranges[i] is the range of
// Values[i] (the whole list's range when the list is not a literal).
type attrStrings struct {
	Values []string
	Ranges []hcl.Range
	Set    bool
	Range  hcl.Range
}
