package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/policy"
)

// exposeTable is an immutable snapshot of the exposes, swapped atomically
// by Update and read once per stream.
type exposeTable struct {
	bySNI map[string]string         // identity.SNI(id) -> id
	ports map[string]map[int]string // id -> port -> backend
}

func newExposeTable(exps []Expose) *exposeTable {
	et := &exposeTable{bySNI: map[string]string{}, ports: map[string]map[int]string{}}
	for _, e := range exps {
		et.bySNI[identity.SNI(e.Workload)] = e.Workload
		if et.ports[e.Workload] == nil {
			et.ports[e.Workload] = map[int]string{}
		}
		et.ports[e.Workload][e.Port] = e.Backend
	}
	return et
}

// lookup finds the backend of workload id's port; port 0 means the
// workload's only port. It returns the resolved port.
func (et *exposeTable) lookup(id string, port int) (int, string, Code) {
	ports := et.ports[id]
	if len(ports) == 0 {
		return port, "", CodeNotServing
	}
	if port == 0 {
		if len(ports) != 1 {
			return 0, "", CodeNoSuchPort
		}
		for p, b := range ports {
			return p, b, CodeOK
		}
	}
	b, ok := ports[port]
	if !ok {
		return port, "", CodeNoSuchPort
	}
	return port, b, CodeOK
}

// authorize asks the policy and records the decision.
func (t *Tunnel) authorize(from, to string, port int) policy.Decision {
	d := t.cfg.Authorize(policy.Request{From: from, To: to, Port: port})
	decision := "deny"
	if d.Allow {
		decision = "allow"
	}
	t.metrics.PolicyDecision(decision, d.Rule)
	for _, a := range d.Audit {
		t.log.Info("audit rule matched", "source", from, "target", to, "port", port,
			"rule", a.Rule, "would_allow", a.WouldAllow)
	}
	return d
}

// acceptInbound accepts tunnel connections until ln is closed. Each gets
// a handshake goroutine if its source IP is under its share of handshakes
// (handshakesPerIP) and a MaxHandshakes slot is free; otherwise it is
// closed at once. The per-IP share keeps one host's silent connections
// from taking every slot until HandshakeTimeout sheds them.
func (t *Tunnel) acceptInbound(ln net.Listener) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.inLog.Error("accept failed", "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		ip := sourceIP(c)
		perIP := t.cfg.limits.handshakes
		if res, log, quiet := perIP.take(ip, time.Now()); res != quotaOK {
			c.Close()
			t.metrics.Handshake(DirInbound, ResultOverloaded, "", 0)
			if log {
				t.inLog.Warn("too many handshakes in progress from one address, connections closed",
					"source_ip", ip.String(), "limit", perIP.perKey, "unlogged_since_last", quiet)
			}
			continue
		}
		select {
		case t.hsSem <- struct{}{}:
			t.goFunc(func() { t.handshake(c, ip) })
		default:
			perIP.release(ip)
			c.Close()
			t.metrics.Handshake(DirInbound, ResultOverloaded, "", 0)
			if ok, quiet := t.overloadLog.handshakesFull.allow(); ok {
				t.inLog.Warn("too many handshakes in progress, connection closed",
					"remote", remoteAddr(c), "limit", t.cfg.MaxHandshakes, "unlogged_since_last", quiet)
			}
		}
	}
}

// handshake runs the TLS handshake of an accepted conn from source ip
// under HandshakeTimeout, then serves its yamux session until it ends.
func (t *Tunnel) handshake(c net.Conn, ip netip.Addr) {
	start := time.Now()
	setNoDelay(c)
	c.SetDeadline(start.Add(t.cfg.HandshakeTimeout))
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.HandshakeTimeout)
	cfg, localID := serverConfigRecordingID(t.cfg.TLS.ServerConfig())
	ck := &corkConn{Conn: c}
	tc := tls.Server(ck, cfg)
	err := tc.HandshakeContext(ctx)
	cancel()
	<-t.hsSem
	t.cfg.limits.handshakes.release(ip)
	var peer string
	if err == nil {
		peer, err = t.peerID(tc.ConnectionState())
	}
	if err != nil {
		reason := handshakeReason(err)
		if isTimeout(err) && t.ctx.Err() == nil {
			// The context and the conn deadline race; name the limit either way.
			err = fmt.Errorf("tunnel: TLS handshake not finished within %s: %w", t.cfg.HandshakeTimeout, err)
		}
		t.metrics.Handshake(DirInbound, ResultFailed, reason, time.Since(start))
		t.inLog.Warn("tunnel handshake refused", "remote", remoteAddr(c), "reason", reason, "error", err)
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	t.metrics.Handshake(DirInbound, ResultOK, "", time.Since(start))
	cs := tc.ConnectionState()
	ym, err := yamux.Server(&coalesceConn{Conn: tc, cork: ck}, t.ymCfg)
	if err != nil { // only a bad config, which yamuxConfig never builds
		t.inLog.Error("yamux server failed", "error", err)
		c.Close()
		return
	}
	s := &session{
		id:        t.nextID.Add(1),
		direction: DirInbound,
		source:    peer,
		target:    *localID,
		addr:      remoteAddr(c),
		ym:        ym,
		conn:      tc,
		cs:        cs,
		openedAt:  time.Now(),
	}
	if s.target == "" { // a provider without Leaf or GetCertificate: go by SNI
		s.target = t.exposes.Load().bySNI[cs.ServerName]
	}
	s.hsStart = start
	s.idleSince.Store(time.Now().UnixNano()) // no stream yet
	t.addSession(s)
	// A reload during the handshake ran its Recheck before s existed: if
	// our certificate changed meanwhile, s presented the old one.
	t.renewIfCertReplaced(s)
	t.inLog.Debug("tunnel accepted", "peer", peer, "workload", s.target, "remote", s.addr)
	// Accept in a tight loop: a slow AcceptStream lets yamux's backlog fill
	// and it then resets streams.
	for {
		st, err := ym.AcceptStream()
		if err != nil {
			break
		}
		t.goFunc(func() { t.serveStream(s, st) })
	}
	ym.Close()
	t.dropSession(s)
}

// serveStream reads a stream's header, decides, dials the backend and
// splices. Every refusal is answered with its status code.
func (t *Tunnel) serveStream(s *session, st *yamux.Stream) {
	refuse := func(code Code, msg string) {
		buf := AppendReply(nil, Reply{Version: WireVersion, Code: code, Msg: msg})
		st.SetWriteDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
		st.Write(buf)
		st.Close()
		t.awaitRefusedFIN(s, st)
	}
	// A session's streams are bounded before anything is read. The
	// caller moves on to another endpoint.
	s.idleSince.Store(0)
	if n := s.streams.Add(1); int(n) > 2*t.cfg.StreamsPerSession {
		s.inboundStreamDone()
		if ok, quiet := t.overloadLog.sessionFull.allow(); ok {
			t.inLog.Warn("too many streams on one tunnel, stream refused", "peer", s.source,
				"limit", 2*t.cfg.StreamsPerSession, "unlogged_since_last", quiet)
		}
		t.metrics.Stream(DirInbound, s.source, s.target, ResultFailed)
		refuse(CodeOverloaded, "")
		return
	}
	defer s.inboundStreamDone()
	// Until its header is read a stream takes no MaxStreams slot, only a
	// pending one: per peer (over all its sessions) and in all. A peer
	// whose streams never send a header, or that policy allows nothing,
	// is refused its own new streams and cannot starve other callers.
	pending := t.cfg.limits.pending
	if res, log, quiet := pending.take(s.source, time.Now()); res != quotaOK {
		if log && res == quotaKeyFull {
			t.inLog.Warn("too many streams awaiting their header from one peer, streams refused",
				"peer", s.source, "limit", pending.perKey, "unlogged_since_last", quiet)
		} else if log {
			t.inLog.Warn("too many streams awaiting their header in all tunnels, streams refused",
				"peer", s.source, "limit", pending.total, "unlogged_since_last", quiet)
		}
		t.metrics.Stream(DirInbound, s.source, s.target, ResultFailed)
		refuse(CodeOverloaded, "")
		return
	}
	st.SetReadDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	h, err := ReadHeader(st)
	st.SetReadDeadline(time.Time{})
	pending.release(s.source)
	if err != nil {
		code := CodeBadHeader
		if errors.Is(err, ErrUnsupportedVersion) {
			code = CodeUnsupportedVersion
		}
		t.inLog.Warn("bad stream header", "peer", s.source, "error", err)
		t.metrics.Stream(DirInbound, s.source, s.target, ResultFailed)
		refuse(code, "")
		return
	}
	if h.Flags&FlagControl != 0 {
		if !t.reserveStream() {
			if ok, quiet := t.overloadLog.streamsFull.allow(); ok {
				t.inLog.Warn("too many streams in all tunnels, control stream refused", "peer", s.source,
					"limit", t.cfg.MaxStreams, "unlogged_since_last", quiet)
			}
			t.metrics.Stream(DirInbound, s.source, s.target, ResultFailed)
			refuse(CodeOverloaded, "")
			return
		}
		defer t.releaseStream()
		t.serveControl(s, st, h)
		return
	}
	local := s.target
	port, backend, code := t.exposes.Load().lookup(local, int(h.Port))
	if t.draining.Load() {
		code = CodeNotServing
	}
	if code != CodeOK {
		t.inLog.Info("stream refused", "source", s.source, "target", local, "port", port, "code", code)
		t.metrics.Stream(DirInbound, s.source, local, ResultFailed)
		t.logAccessRefused(DirInbound, s.source, local, port, "", EndRefused)
		refuse(code, "")
		return
	}
	d := t.authorize(s.source, local, port)
	if !d.Allow {
		t.inLog.Info("stream denied by policy", "source", s.source, "target", local, "port", port, "rule", d.Rule)
		t.metrics.Stream(DirInbound, s.source, local, ResultDenied)
		t.logAccessRefused(DirInbound, s.source, local, port, d.Rule, EndDenied)
		refuse(CodeDenied, d.Rule)
		return
	}
	if !t.reserveStream() {
		if ok, quiet := t.overloadLog.streamsFull.allow(); ok {
			t.inLog.Warn("too many streams in all tunnels, stream refused", "peer", s.source,
				"limit", t.cfg.MaxStreams, "unlogged_since_last", quiet)
		}
		t.metrics.Stream(DirInbound, s.source, local, ResultFailed)
		t.logAccessRefused(DirInbound, s.source, local, port, d.Rule, EndRefused)
		refuse(CodeOverloaded, "")
		return
	}
	defer t.releaseStream()
	var dialer net.Dialer
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.BackendDialTimeout)
	bc, err := dialer.DialContext(ctx, "tcp", backend)
	cancel()
	if err != nil {
		t.inLog.Warn("backend unreachable", "source", s.source, "target", local, "port", port,
			"backend", backend, "error", err)
		t.metrics.Stream(DirInbound, s.source, local, ResultFailed)
		t.logAccessRefused(DirInbound, s.source, local, port, d.Rule, EndRefused)
		refuse(CodeBackendUnreachable, "")
		return
	}
	setNoDelay(bc)
	ls := &liveStream{
		id: t.nextID.Add(1), direction: DirInbound, source: s.source, target: local,
		port: port, rule: d.Rule, start: time.Now(), sess: s, local: bc, stream: st,
	}
	// Known to the control stream before OK: the caller may send RESET as
	// soon as it reads OK.
	s.addLive(ls)
	ok := AppendReply(nil, Reply{Version: WireVersion, Code: CodeOK, Msg: strconv.Itoa(port)})
	if _, err := st.Write(ok); err != nil {
		s.removeLive(ls)
		resetConn(bc)
		st.Close()
		return
	}
	t.runStream(ls)
}

// runStream registers ls, splices it and writes its access log line.
func (t *Tunnel) runStream(ls *liveStream) {
	t.reg.add(ls)
	t.metrics.Stream(ls.direction, ls.source, ls.target, ResultOK)
	t.metrics.ActiveStreams(ls.direction, 1)
	end := t.splice(ls)
	t.reg.remove(ls)
	ls.sess.removeLive(ls)
	t.metrics.ActiveStreams(ls.direction, -1)
	args := []any{"direction", ls.direction, "source", ls.source, "target", ls.target,
		"port", ls.port, "rule", ls.rule, "bytes_out", ls.bytesOut.Load(), "bytes_in", ls.bytesIn.Load(),
		"duration", time.Since(ls.start), "end", end}
	if r := ls.cutRule.Load(); r != nil {
		// rule allowed the stream; cut_rule is the rule that denies it now.
		args = append(args, "cut_rule", *r)
	}
	t.access.Info("stream", args...)
}

func (t *Tunnel) logAccessRefused(dir, source, target string, port int, rule, end string) {
	t.access.Info("stream", "direction", dir, "source", source, "target", target,
		"port", port, "rule", rule, "bytes_out", 0, "bytes_in", 0, "duration", time.Duration(0), "end", end)
}

// serverConfigRecordingID returns a copy of cfg that records in *id the
// SPIFFE ID of the certificate it presents: the local workload the peer
// called, whether or not it is exposed yet (Update may expose it later).
func serverConfigRecordingID(cfg *tls.Config) (*tls.Config, *string) {
	id := new(string)
	get := cfg.GetCertificate
	if get == nil {
		return cfg, id
	}
	cfg = cfg.Clone()
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := get(hello)
		if c != nil && c.Leaf != nil && len(c.Leaf.URIs) == 1 {
			*id = c.Leaf.URIs[0].String()
		}
		return c, err
	}
	return cfg, id
}

// isTimeout reports whether err is a deadline: the context's or a conn's.
// Reasons of failed inbound handshakes that are not about a certificate
// (those carry identity's reasons), so that a flood of junk, of stalled
// handshakes or of old clients shows in ztunnel_handshakes_total by kind.
const (
	ReasonNotTLS           identity.Reason = "not_tls"           // the first bytes are not a TLS handshake
	ReasonTLSVersion       identity.Reason = "tls_version"       // the client offers no TLS 1.3
	ReasonHandshakeTimeout identity.Reason = "handshake_timeout" // not finished within HandshakeTimeout
	ReasonClosed           identity.Reason = "closed"            // the client closed or reset mid-handshake
)

// handshakeReason labels a failed inbound handshake.
func handshakeReason(err error) identity.Reason {
	if r := identity.ReasonOf(err); r != identity.ReasonOther {
		return r
	}
	var rh tls.RecordHeaderError
	switch {
	case isTimeout(err):
		return ReasonHandshakeTimeout
	case errors.As(err, &rh):
		return ReasonNotTLS
	case strings.Contains(err.Error(), "unsupported versions"):
		// crypto/tls has no typed error for it: "tls: client offered only
		// unsupported versions: [303]".
		return ReasonTLSVersion
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return ReasonClosed
	}
	return identity.ReasonOther
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// refusedLinger is how long a refused stream waits for the caller's FIN.
// A variable for tests; resetLinger otherwise.
var refusedLinger = resetLinger

// awaitRefusedFIN waits, discarding what arrives, for the caller to finish
// a stream we refused (and half-closed). yamux v0.1.2 cannot reset one
// stream and frees it only once both sides closed, with its receive
// window granted, so a caller that never sends FIN would keep it, and up
// to a window of buffered bytes, for the life of the session. Every
// ztunnel agent closes a refused stream at once; a peer that has not
// within refusedLinger breaks the protocol, and its session is closed.
// The stream's slots (per session, pending) are held while it waits.
func (t *Tunnel) awaitRefusedFIN(s *session, st *yamux.Stream) {
	st.SetReadDeadline(time.Now().Add(refusedLinger))
	_, err := io.Copy(io.Discard, st)
	if err == nil || s.ym.IsClosed() {
		return
	}
	n := t.reg.onSession(s)
	t.inLog.Warn("peer did not finish a refused stream in time, closing its tunnel",
		"peer", s.source, "target", s.target, "address", s.addr, "linger", refusedLinger, "streams", n)
	s.closeWith(EndRefused)
}

// inboundIdleTimeout closes an inbound session that has carried no stream
// but its control stream for this long. Callers close their own idle
// sessions after sessionIdleTimeout (half of it), so this only reaps the
// sessions of a peer that opens them and leaves them idle, which would
// otherwise each hold a TLS connection and yamux's goroutines and buffers
// for as long as the peer likes. A variable for tests.
var inboundIdleTimeout = 2 * sessionIdleTimeout

// inboundStreamDone ends one of an inbound session's streams and notes
// when only its control stream (if any) is left.
func (s *session) inboundStreamDone() {
	s.streams.Add(-1)
	if s.dataStreams() <= 0 {
		s.idleSince.Store(time.Now().UnixNano())
	}
}

// sweepInbound closes the inbound sessions idle for longer than
// inboundIdleTimeout.
func (t *Tunnel) sweepInbound(now time.Time) {
	for _, s := range t.sessionList() {
		if s.direction != DirInbound {
			continue
		}
		since := s.idleSince.Load()
		if since == 0 || now.Sub(time.Unix(0, since)) < inboundIdleTimeout {
			continue
		}
		if s.dataStreams() > 0 {
			continue
		}
		t.inLog.Debug("closing idle inbound tunnel", "peer", s.source, "target", s.target, "address", s.addr,
			"idle", now.Sub(time.Unix(0, since)).Round(time.Second))
		s.closeWith(EndClosed)
	}
}
