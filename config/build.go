package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// builder turns the decoded file structs into a Config, reporting each
// problem at the range of the value it is about.
type builder struct {
	p        *problems
	file     string // as given to Parse, for warnings
	dir      string // absolute folder of the config file
	td       string // the trust domain when valid, else ""
	refs     []fileRef
	warnings []string
	listens  map[string]listenClaim // canonical listen address -> first user
	pos      map[string]string      // listen key -> "file:line:col" (Config.Where)
}

type listenClaim struct {
	key string
	rng hcl.Range
}

var fileStart = hcl.Range{Start: hcl.Pos{Line: 1, Column: 1, Byte: 0}}

func (b *builder) build(fc *fileConfig) *Config {
	c := &Config{}
	c.NodeName = b.nodeName(fc.NodeName)
	c.DataDir = DefaultDataDir
	if fc.DataDir.Set {
		c.DataDir = b.resolve(fc.DataDir, "data_dir")
	}
	c.LogLevel = b.enum(fc.LogLevel, "log_level", DefaultLogLevel, "trace", "debug", "info", "warn", "error")
	c.LogFormat = b.enum(fc.LogFormat, "log_format", DefaultLogFormat, "text", "json")
	c.ShutdownTimeout = b.duration(fc.ShutdownTimeout, "shutdown_timeout", DefaultShutdownTimeout)
	if fc.MaxProcs.Set {
		if fc.MaxProcs.Value < 0 || fc.MaxProcs.Value > MaxProcsLimit {
			b.p.add(fc.MaxProcs.Range, "max_procs: %d is out of range; expected 0 (auto: half the CPUs) or a number of CPUs up to %d", fc.MaxProcs.Value, MaxProcsLimit)
		}
		c.MaxProcs = fc.MaxProcs.Value
	}

	if fc.Trust == nil {
		b.p.add(fileStart, "trust: block is required (it names the trust domain and its CA bundle)")
	} else {
		c.Trust = b.trust(fc.Trust)
	}
	tun := fc.Tunnel
	if tun == nil {
		tun = &fileTunnel{}
	}
	c.Tunnel = b.tunnel(tun)
	if fc.Gossip != nil {
		c.Gossip = b.gossip(fc.Gossip)
	}
	c.Admin = b.admin(fc.Admin)
	if fc.Policy != nil {
		if b.required(fc.Policy.File, "policy.file", fc.Policy.Range, "the policy file") {
			c.Policy.File = b.path(fc.Policy.File, "policy.file", "")
		}
	}
	c.Workloads = b.workloads(fc.Workloads)
	c.Peers = b.peers(fc.Peers)
	c.Warnings = b.warnings
	return c
}

func (b *builder) nodeName(a attrString) string {
	if !a.Set {
		h, err := hostname()
		if err != nil || h == "" {
			b.p.add(fileStart, "node_name: is not set and this host's name is unknown; set node_name")
		}
		return h
	}
	if a.Value == "" || len(a.Value) > 253 || strings.ContainsFunc(a.Value, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		b.p.add(a.Range, "node_name: %q is not a valid node name; use 1 to 253 characters without spaces", a.Value)
	}
	return a.Value
}

func (b *builder) trust(ft *fileTrust) Trust {
	t := Trust{CRLs: []string{}}
	if b.required(ft.TrustDomain, "trust.trust_domain", ft.Range, `the trust domain, like "example.org"`) {
		if msg := checkTrustDomain(ft.TrustDomain.Value); msg != "" {
			b.p.add(ft.TrustDomain.Range, "trust.trust_domain: %s", msg)
		} else {
			b.td = ft.TrustDomain.Value
		}
		t.TrustDomain = ft.TrustDomain.Value
	}
	if b.required(ft.Bundle, "trust.bundle", ft.Range, "the PEM file of the CA certificates") {
		t.Bundle = b.path(ft.Bundle, "trust.bundle", "")
	}
	for i, v := range ft.CRLs.Values {
		a := attrString{Value: v, Set: true, Range: ft.CRLs.Ranges[i]}
		t.CRLs = append(t.CRLs, b.path(a, fmt.Sprintf("trust.crls[%d]", i), ""))
	}
	t.Revocation = b.enum(ft.Revocation, "trust.revocation", DefaultRevocation, "fail_closed", "fail_open")
	return t
}

func (b *builder) tunnel(ft *fileTunnel) Tunnel {
	t := Tunnel{}
	t.Listen = b.listen(ft.Listen, "tunnel.listen", DefaultTunnelListen)
	t.Advertise = b.advertise(ft.Advertise, "tunnel.advertise", t.Listen)
	t.HandshakeTimeout = b.duration(ft.HandshakeTimeout, "tunnel.handshake_timeout", DefaultHandshakeTimeout)
	t.MaxHandshakes = b.limit(ft.MaxHandshakes, "tunnel.max_handshakes", DefaultMaxHandshakes)
	t.StreamsPerSession = b.limit(ft.StreamsPerSession, "tunnel.streams_per_session", DefaultStreamsPerSession)
	t.SessionsPerPeer = b.limit(ft.SessionsPerPeer, "tunnel.sessions_per_peer", DefaultSessionsPerPeer)
	t.ConnsPerUpstream = b.limit(ft.ConnsPerUpstream, "tunnel.conns_per_upstream", DefaultConnsPerUpstream)
	t.MaxStreams = b.limit(ft.MaxStreams, "tunnel.max_streams", DefaultMaxStreams)
	t.HandshakesPerIP = b.limit(ft.HandshakesPerIP, "tunnel.max_handshakes_per_ip", max(1, t.MaxHandshakes/4))
	t.PendingPerPeer = b.limit(ft.PendingPerPeer, "tunnel.pending_streams_per_peer",
		min(2*t.StreamsPerSession, max(1, t.MaxStreams/4)))
	t.StreamWindow = DefaultStreamWindow
	if w := ft.StreamWindow; w.Set {
		t.StreamWindow = w.Value
		if w.Value < MinStreamWindow || w.Value > MaxStreamWindow {
			b.p.add(w.Range, "tunnel.stream_window: %d bytes is out of range; expected %d (256 KiB) to %d (64 MiB)",
				w.Value, MinStreamWindow, MaxStreamWindow)
		}
	}
	t.DialTimeout = b.duration(ft.DialTimeout, "tunnel.dial_timeout", DefaultDialTimeout)
	t.BackendDialTimeout = b.duration(ft.BackendDialTimeout, "tunnel.backend_dial_timeout", DefaultBackendDialTimeout)
	return t
}

func (b *builder) gossip(fg *fileGossip) *Gossip {
	g := &Gossip{Join: []string{}}
	g.Listen = b.listen(fg.Listen, "gossip.listen", DefaultGossipListen)
	g.Advertise = b.advertise(fg.Advertise, "gossip.advertise", g.Listen)
	for i, v := range fg.Join.Values {
		key := fmt.Sprintf("gossip.join[%d]", i)
		if canon, msg := checkAddr(v, addrDial); msg != "" {
			b.p.add(fg.Join.Ranges[i], "%s: %s", key, msg)
		} else {
			g.Join = append(g.Join, canon)
		}
	}
	if b.required(fg.KeyFile, "gossip.key_file", fg.Range, "the file of base64 gossip keys, see ztunnel keygen") {
		g.KeyFile = b.path(fg.KeyFile, "gossip.key_file", "gossip key")
	}
	return g
}

func (b *builder) admin(fa *fileAdmin) Admin {
	a := Admin{Listen: DefaultAdminListen}
	if fa == nil {
		b.claim(a.Listen, "admin.listen", fileStart)
		return a
	}
	if fa.Listen.Set {
		canon, msg := checkAdminListen(fa.Listen.Value)
		if msg != "" {
			b.p.add(fa.Listen.Range, "admin.listen: %s", msg)
		}
		a.Listen = canon
	}
	b.claim(a.Listen, "admin.listen", fa.Listen.Range)
	a.Pprof = fa.Pprof.Value
	if fa.MetricsListen.Set {
		a.MetricsListen = b.listen(fa.MetricsListen, "admin.metrics_listen", "")
	}
	return a
}

// required reports whether a is set, recording a problem at the block's
// range when it is not. what says what the key holds.
func (b *builder) required(a attrString, key string, block hcl.Range, what string) bool {
	if !a.Set {
		b.p.add(block, "%s: is required (%s)", key, what)
	}
	return a.Set
}

// path resolves a file path against the config's folder and records it
// for Load's file-system checks. secret names what a private file holds
// ("" for a public one).
func (b *builder) path(a attrString, key, secret string) string {
	return b.pathRef(a, key, fileRef{secret: secret})
}

// optionalPath is path for a file that may be missing (it is checked only
// when it exists).
func (b *builder) optionalPath(a attrString, key, secret string) string {
	return b.pathRef(a, key, fileRef{secret: secret, optional: true})
}

// pathRef resolves a and records the file to check as ref describes.
func (b *builder) pathRef(a attrString, key string, ref fileRef) string {
	p := b.resolve(a, key)
	if p != "" {
		ref.path, ref.key, ref.rng = p, key, a.Range
		b.refs = append(b.refs, ref)
	}
	return p
}

// resolve makes a path value absolute against the config's folder.
func (b *builder) resolve(a attrString, key string) string {
	if a.Value == "" {
		b.p.add(a.Range, "%s: must not be empty; expected a path", key)
		return ""
	}
	p := a.Value
	if !filepath.IsAbs(p) {
		p = filepath.Join(b.dir, p)
	}
	return filepath.Clean(p)
}

func (b *builder) enum(a attrString, key, def string, allowed ...string) string {
	if !a.Set {
		return def
	}
	if msg := oneOf(a.Value, allowed...); msg != "" {
		b.p.add(a.Range, "%s: %s", key, msg)
	}
	return a.Value
}

func (b *builder) duration(a attrString, key string, def time.Duration) time.Duration {
	if !a.Set {
		return def
	}
	d, msg := checkDuration(a.Value)
	if msg != "" {
		b.p.add(a.Range, "%s: %s", key, msg)
	}
	return d
}

func (b *builder) limit(a attrInt, key string, def int) int {
	if !a.Set {
		return def
	}
	if a.Value < 1 || a.Value > MaxLimit {
		b.p.add(a.Range, "%s: %d is out of range; expected a number from 1 to %d", key, a.Value, MaxLimit)
	}
	return a.Value
}

// listen checks a listen address, fills its default and claims it.
func (b *builder) listen(a attrString, key, def string) string {
	if !a.Set {
		b.claim(def, key, fileStart)
		return def
	}
	canon, msg := checkAddr(a.Value, addrListen)
	if msg != "" {
		b.p.add(a.Range, "%s: %s", key, msg)
		return a.Value
	}
	b.claim(canon, key, a.Range)
	return canon
}

// claim records that key listens on addr, reporting a second user of the
// same address. Port 0 (any free port) never conflicts.
func (b *builder) claim(addr, key string, rng hcl.Range) {
	if rng != fileStart {
		b.pos[key] = fmt.Sprintf("%s:%d:%d", b.file, rng.Start.Line, rng.Start.Column)
	}
	if addr == "" || strings.HasSuffix(addr, ":0") {
		return
	}
	if first, dup := b.listens[addr]; dup {
		b.p.add(rng, "%s: %q is already used by %s (line %d); each listener needs its own address", key, addr, first.key, first.rng.Start.Line)
		return
	}
	b.listens[addr] = listenClaim{key: key, rng: rng}
}

func (b *builder) advertise(a attrString, key, listen string) string {
	if a.Set {
		canon, msg := checkAddr(a.Value, addrAdvertise)
		if msg != "" {
			b.p.add(a.Range, "%s: %s", key, msg)
			return a.Value
		}
		return canon
	}
	adv, guessed := deriveAdvertise(listen)
	if guessed {
		b.warnings = append(b.warnings, guessWarning(b.file, key, adv))
	}
	return adv
}
