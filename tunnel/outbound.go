package tunnel

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// upstreamListener is one bound upstream. up is swapped by Update when
// only the target, port or pins change; conns counts accepted connections.
type upstreamListener struct {
	up    atomic.Pointer[Upstream]
	ln    net.Listener
	sem   chan struct{}
	conns atomic.Int64
	rr    atomic.Uint32 // round-robin offset over the resolved endpoints
}

// listenUpstream binds u's listener without accepting yet.
func (t *Tunnel) listenUpstream(u Upstream) (*upstreamListener, error) {
	ln, err := net.Listen("tcp", u.Listen)
	if err != nil {
		return nil, &ListenError{Upstream: u.Name, Source: u.Source, Addr: u.Listen, Err: err}
	}
	ul := &upstreamListener{ln: ln, sem: make(chan struct{}, t.cfg.ConnsPerUpstream)}
	ul.up.Store(&u)
	return ul, nil
}

// startUpstream registers ul and starts accepting on it. t.mu must be held.
func (t *Tunnel) startUpstream(ul *upstreamListener) {
	u := ul.up.Load()
	t.upstreams[u.key()] = ul
	t.outLog.Info("upstream listening", "source", u.Source, "upstream", u.Name,
		"address", ul.ln.Addr().String(), "target", u.Target)
	t.goFunc(func() { t.acceptUpstream(ul) })
}

func (t *Tunnel) acceptUpstream(ul *upstreamListener) {
	var delay time.Duration
	for {
		c, err := ul.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.outLog.Error("upstream accept failed", "address", ul.ln.Addr().String(), "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		select {
		case ul.sem <- struct{}{}:
			ul.conns.Add(1)
			t.goFunc(func() {
				defer func() { ul.conns.Add(-1); <-ul.sem }()
				t.serveUpstream(ul, c)
			})
		default:
			u := ul.up.Load()
			resetConn(c)
			t.metrics.UpstreamRefused(u.Source, u.Name)
			t.outLog.Warn("upstream connection limit reached, connection reset",
				"source", u.Source, "upstream", u.Name, "limit", t.cfg.ConnsPerUpstream)
		}
	}
}

// serveUpstream carries one accepted app connection to its target.
func (t *Tunnel) serveUpstream(ul *upstreamListener, c net.Conn) {
	u := ul.up.Load()
	if !t.reserveStream() {
		resetConn(c)
		t.metrics.UpstreamRefused(u.Source, u.Name)
		if ok, quiet := t.overloadLog.streamsFull.allow(); ok {
			t.outLog.Warn("too many streams in all tunnels, connection reset",
				"source", u.Source, "upstream", u.Name, "limit", t.cfg.MaxStreams, "unlogged_since_last", quiet)
		}
		return
	}
	defer t.releaseStream()
	setNoDelay(c)
	rule := ""
	if u.Port != 0 { // the sender checks first when it knows the port
		d := t.authorize(u.Source, u.Target, u.Port)
		if !d.Allow {
			t.outLog.Info("stream denied by policy", "source", u.Source, "target", u.Target,
				"port", u.Port, "rule", d.Rule, "upstream", u.Name)
			t.metrics.Stream(DirOutbound, u.Source, u.Target, ResultDenied)
			t.logAccessRefused(DirOutbound, u.Source, u.Target, u.Port, d.Rule, EndDenied)
			resetConn(c)
			return
		}
		rule = d.Rule
	}
	ls, err := t.openStream(ul, u, c)
	if err != nil {
		end, result := EndRefused, ResultFailed
		var re *RefusedError
		if errors.As(err, &re) && re.Code == CodeDenied {
			end, result, rule = EndDenied, ResultDenied, re.Msg
			t.outLog.Info("stream denied by peer policy", "source", u.Source, "target", u.Target,
				"port", u.Port, "rule", re.Msg, "upstream", u.Name)
		} else {
			t.outLog.Warn("stream failed", "source", u.Source, "target", u.Target, "port", u.Port,
				"upstream", u.Name, "error", err)
		}
		t.metrics.Stream(DirOutbound, u.Source, u.Target, result)
		t.logAccessRefused(DirOutbound, u.Source, u.Target, u.Port, rule, end)
		resetConn(c)
		return
	}
	defer t.pool.release(ls.sess)
	ls.rule = rule
	t.runStream(ls)
}

// openStream tries the target's endpoints in turn (round robin start,
// skipping those in back-off) until one answers OK. A failed dial,
// handshake or a retryable status moves on to the next endpoint; DENIED
// and NO_SUCH_PORT end the attempt. It returns the resolved port.
func (t *Tunnel) openStream(ul *upstreamListener, u *Upstream, local net.Conn) (*liveStream, error) {
	if err := t.checkOwnCert(u.Source); err != nil {
		return nil, err
	}
	addrs := t.cfg.Resolver.Resolve(u.Target)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w for %s", ErrNoEndpoint, u.Target)
	}
	off := int(ul.rr.Add(1)-1) % len(addrs)
	addrs = append(slices.Clone(addrs[off:]), addrs[:off]...)
	var lastErr error
	now := time.Now()
	tried := 0
	for _, addr := range addrs {
		if t.pool.inBackoff(addr, now) {
			continue
		}
		tried++
		ls, err := t.tryEndpoint(u, addr, local, tried < len(addrs))
		for retry := 0; retry < 2 && retryOnFreshSession(err); retry++ {
			// That session is draining (the peer is rotating its
			// certificate or shutting down), or it reset the stream before
			// answering, which a GoAway racing our SYN does: no byte of the
			// app was sent yet, so a fresh session may take the stream.
			ls, err = t.tryEndpoint(u, addr, local, tried < len(addrs))
		}
		if err == nil {
			return ls, nil
		}
		lastErr = err
		var re *RefusedError
		if errors.As(err, &re) && !re.Code.retryable() {
			return nil, err
		}
	}
	if tried == 0 {
		return nil, fmt.Errorf("%w for %s: all %d in back-off after failures", ErrNoEndpoint, u.Target, len(addrs))
	}
	return nil, lastErr
}

// checkOwnCert refuses to call out for a workload whose certificate has
// expired or is revoked (when the TLS provider tells): every peer would refuse it, and
// the operator needs to read that it is our certificate, not theirs.
func (t *Tunnel) checkOwnCert(id string) error {
	c := t.ownCert(id)
	switch {
	case c == nil:
	case c.Revoked:
		return fmt.Errorf("%w: %s (serial %s) is revoked by the CRL in force; load a new one", identity.ErrOwnCertRevoked, id, c.Serial)
	case time.Now().After(c.NotAfter):
		return fmt.Errorf("%w: %s expired at %s; load a valid one", ErrOwnCertExpired, id, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// A session that has received nothing for quietBeforePing is pinged, with
// pingTimeout, before it gets a new stream while other endpoints could take
// it: a peer that died silently (power loss, partition) would otherwise hold
// the caller until HandshakeTimeout before failing over. A live session
// answers in one round trip, and a busy one is never quiet.
const (
	quietBeforePing = 2 * time.Second
	pingTimeout     = time.Second
)

// checkQuiet pings s when it has been quiet. An unanswered ping retires s
// (no new streams; yamux's keepalive closes it if the peer is really gone)
// rather than closing it: on a starved machine a slow answer is not a dead
// peer, and closing would cut its open streams.
func (t *Tunnel) checkQuiet(s *session) error {
	if s.rec == nil || time.Since(time.Unix(0, s.rec.lastRead.Load())) < quietBeforePing {
		return nil
	}
	done := make(chan error, 1)
	go func() { _, err := s.ym.Ping(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		s.draining.Store(true)
		return fmt.Errorf("tunnel: session to %s: ping: %w", s.addr, err)
	case <-time.After(pingTimeout):
		s.draining.Store(true)
		t.outLog.Warn("tunnel peer did not answer a ping, trying another", "address", s.addr,
			"target", s.target, "timeout", pingTimeout)
		return fmt.Errorf("tunnel: session to %s: no answer to a ping within %s", s.addr, pingTimeout)
	}
}

// retryOnFreshSession reports whether a stream request failed only because
// of the session it was tried on.
func retryOnFreshSession(err error) bool {
	return errors.Is(err, yamux.ErrRemoteGoAway) || errors.Is(err, yamux.ErrConnectionReset) ||
		errors.Is(err, errSessionLost)
}

// errSessionLost marks a stream request that failed because its session
// died before the status arrived.
var errSessionLost = errors.New("tunnel: the session closed under the stream request")

// tryEndpoint gets a session to addr from the pool and requests a stream
// on it; on failure the session's slot is given back. With failover (other
// endpoints remain), a session that has been quiet is pinged first.
func (t *Tunnel) tryEndpoint(u *Upstream, addr string, local net.Conn, failover bool) (*liveStream, error) {
	s, err := t.pool.get(t.ctx, poolKey{u.Source, u.Target, addr}, u.Pins)
	if err != nil {
		return nil, err
	}
	if failover {
		if err := t.checkQuiet(s); err != nil {
			t.pool.release(s)
			t.pool.failed(addr)
			return nil, err
		}
	}
	ls, err := t.requestStream(s, u, local)
	if err != nil {
		if retryOnFreshSession(err) {
			// The peer reset the stream before answering: it is retiring
			// this session (its GoAway may arrive after the resets), so the
			// retry must not land on it again.
			s.draining.Store(true)
		}
		t.pool.release(s)
	}
	return ls, err
}

// requestStream opens a stream on s, sends the header and reads the
// status. The returned liveStream is known to s's control stream already.
func (t *Tunnel) requestStream(s *session, u *Upstream, local net.Conn) (*liveStream, error) {
	// lost marks an error caused by the session itself dying under us (the
	// peer closed it as idle, restarted, or the connection broke): no byte
	// of the app has been sent before the status, so the stream may be
	// retried on a fresh session.
	lost := func(err error) error {
		if s.ym.IsClosed() || errors.Is(err, yamux.ErrSessionShutdown) ||
			errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
			s.draining.Store(true)
			return fmt.Errorf("%w: %w", errSessionLost, err)
		}
		return err
	}
	st, err := s.ym.OpenStream()
	if err != nil {
		if errors.Is(err, yamux.ErrRemoteGoAway) {
			s.draining.Store(true)
		}
		return nil, lost(fmt.Errorf("tunnel: open stream to %s: %w", s.addr, err))
	}
	ls := &liveStream{
		id: t.nextID.Add(1), direction: DirOutbound, source: u.Source, target: u.Target,
		port: u.Port, start: time.Now(), sess: s, local: local, stream: st,
	}
	s.addLive(ls)
	fail := func(err error) (*liveStream, error) {
		s.removeLive(ls)
		st.Close()
		return nil, err
	}
	hdr, _ := AppendHeader(nil, Header{Version: WireVersion, Port: uint16(u.Port)})
	st.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout))
	if _, err := st.Write(hdr); err != nil {
		return fail(lost(fmt.Errorf("tunnel: send stream header to %s: %w", s.addr, err)))
	}
	status, err := ReadReply(st)
	st.SetDeadline(time.Time{})
	if err != nil {
		return fail(lost(fmt.Errorf("tunnel: read stream status from %s: %w", s.addr, err)))
	}
	if status.Code != CodeOK {
		return fail(&RefusedError{Code: status.Code, Msg: status.Msg})
	}
	if p, err := strconv.Atoi(status.Msg); err == nil && p > 0 && p < 65536 {
		ls.port = p
	}
	return ls, nil
}

// Update applies a reload: upstreams whose listen address is unchanged
// keep their listener (their target, port and pins are swapped), new ones
// are bound, removed ones are closed (their open connections go on), and
// the exposes are swapped atomically. When a new listener cannot be bound,
// nothing changes and the error names the upstream and address.
func (t *Tunnel) Update(ups []Upstream, exps []Expose) error {
	probs := append(validateUpstreams(ups), validateExposes(exps)...)
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, probs[0])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if !t.started {
		t.cfg.Upstreams, t.cfg.Exposes = ups, exps
		t.exposes.Store(newExposeTable(exps))
		return nil
	}
	var bound []*upstreamListener
	keep := map[string]bool{}
	for _, u := range ups {
		if old := t.upstreams[u.key()]; old != nil && old.up.Load().Listen == u.Listen {
			keep[u.key()] = true
			continue
		}
		ul, err := t.listenUpstream(u)
		if err != nil {
			for _, b := range bound {
				b.ln.Close()
			}
			return err
		}
		bound = append(bound, ul)
	}
	for _, u := range ups {
		if keep[u.key()] {
			t.upstreams[u.key()].up.Store(&u)
		}
	}
	for k, ul := range t.upstreams {
		if !keep[k] {
			ul.ln.Close()
			delete(t.upstreams, k)
		}
	}
	for _, ul := range bound {
		t.startUpstream(ul)
	}
	t.exposes.Store(newExposeTable(exps))
	return nil
}
