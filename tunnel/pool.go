package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Redial back-off per address after a failed dial or handshake.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = 10 * time.Second
)

// Outbound session upkeep.
const (
	// sessionIdleTimeout: an outbound session without streams this long
	// is closed (the peer's agent frees it too).
	sessionIdleTimeout = 5 * time.Minute
	// renewBefore: a session whose certificate (ours or the peer's)
	// expires within this is not given new streams; a new session, made
	// with the reloaded certificate, takes them, and the old one is
	// closed once its streams are done.
	renewBefore = time.Minute
	// janitorInterval is how often idle and expiring sessions are swept.
	janitorInterval = 10 * time.Second
)

// poolKey identifies the sessions that may carry a stream: the client
// certificate (source), the server identity required (target) and where.
type poolKey struct{ source, target, addr string }

// pool is the outbound session pool. mu guards every field of the pool and
// of its peers; session.streams is only incremented under mu.
type pool struct {
	t       *Tunnel
	mu      sync.Mutex
	peers   map[poolKey]*peerSessions
	backoff map[string]*backoffState // by address
}

type peerSessions struct {
	sessions []*session
	dial     *pendingDial // the in-flight dial shared by every waiter, or nil
}

type pendingDial struct {
	done chan struct{}
	sess *session // set before done is closed
	err  error    // set before done is closed
}

// reserveNew takes a slot on a session that was just dialed for the
// caller, even when its certificates expire soon (it is the freshest
// session there is). It fails when the session is gone or full.
func (p *pool) reserveNew(s *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.ym.IsClosed() || int(s.streams.Load()) >= p.t.cfg.StreamsPerSession {
		return false
	}
	s.streams.Add(1)
	s.idleSince.Store(0)
	return true
}

type backoffState struct {
	failures int
	until    time.Time
}

func newPool(t *Tunnel) *pool {
	return &pool{t: t, peers: map[poolKey]*peerSessions{}, backoff: map[string]*backoffState{}}
}

// inBackoff reports whether addr failed recently and must not be dialed yet.
func (p *pool) inBackoff(addr string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.backoff[addr]
	return b != nil && now.Before(b.until)
}

// get reserves a stream slot on a session for key, dialing a new session
// when every existing one is full (up to SessionsPerPeer). Concurrent
// callers share one in-flight dial. The caller must call release(s).
func (p *pool) get(ctx context.Context, key poolKey, pins []string) (*session, error) {
	for {
		p.mu.Lock()
		ps := p.peers[key]
		if ps == nil {
			ps = &peerSessions{}
			p.peers[key] = ps
		}
		now := time.Now()
		for _, s := range ps.sessions {
			if !s.expires.IsZero() && now.After(s.expires.Add(-renewBefore)) {
				s.draining.Store(true)
			}
			if !s.draining.Load() && !s.ym.IsClosed() && int(s.streams.Load()) < p.t.cfg.StreamsPerSession {
				s.streams.Add(1)
				s.idleSince.Store(0)
				p.mu.Unlock()
				return s, nil
			}
		}
		if d := ps.dial; d != nil {
			p.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if d.err != nil {
				return nil, d.err
			}
			if p.reserveNew(d.sess) {
				return d.sess, nil
			}
			continue
		}
		if len(ps.sessions) >= p.t.cfg.SessionsPerPeer {
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: %d sessions of %d streams to %s", ErrPoolFull,
				len(ps.sessions), p.t.cfg.StreamsPerSession, key.addr)
		}
		d := &pendingDial{done: make(chan struct{})}
		ps.dial = d
		p.mu.Unlock()

		s, err := p.t.dialSession(key, pins)
		p.mu.Lock()
		ps.dial = nil
		if err == nil {
			ps.sessions = append(ps.sessions, s)
			delete(p.backoff, key.addr)
		} else {
			b := p.backoff[key.addr]
			if b == nil {
				b = &backoffState{}
				p.backoff[key.addr] = b
			}
			b.failures++
			delay := min(backoffMin<<min(b.failures-1, 16), backoffMax)
			b.until = time.Now().Add(delay)
		}
		p.mu.Unlock()
		d.sess, d.err = s, err
		close(d.done)
		if err != nil {
			return nil, err
		}
		if p.t.ctx.Err() != nil {
			s.closeWith(EndShutdown)
			return nil, ErrClosed
		}
		go p.watch(key, s)
		if p.reserveNew(s) {
			return s, nil
		}
	}
}

// release gives back a slot taken by get.
func (p *pool) release(s *session) {
	if s.streams.Add(-1) == 0 {
		s.idleSince.Store(time.Now().UnixNano())
	}
}

// sweep closes the sessions that are idle too long, or draining (GoAway,
// expiring certificate) and without streams. Checks and removal happen
// under mu, where get reserves, so a session is never closed under a
// stream that was just given a slot on it.
func (p *pool) sweep(now time.Time) {
	var doomed []*session
	p.mu.Lock()
	for key, ps := range p.peers {
		kept := ps.sessions[:0]
		for _, s := range ps.sessions {
			idle := s.streams.Load() == 0
			since := s.idleSince.Load()
			expiring := !s.expires.IsZero() && now.After(s.expires.Add(-renewBefore))
			if idle && (s.draining.Load() || expiring || (since != 0 && now.Sub(time.Unix(0, since)) > sessionIdleTimeout)) {
				doomed = append(doomed, s)
				continue
			}
			kept = append(kept, s)
		}
		ps.sessions = kept
		if len(kept) == 0 && ps.dial == nil {
			delete(p.peers, key)
		}
	}
	p.mu.Unlock()
	for _, s := range doomed {
		p.t.outLog.Debug("closing unused tunnel", "source", s.source, "target", s.target, "address", s.addr)
		s.closeWith(EndClosed)
	}
}

// janitor sweeps the pool until the Tunnel closes.
func (p *pool) janitor() {
	tick := time.NewTicker(janitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.t.ctx.Done():
			return
		case now := <-tick.C:
			p.sweep(now)
		}
	}
}

// watch removes s from the pool once it is closed.
func (p *pool) watch(key poolKey, s *session) {
	<-s.ym.CloseChan()
	p.mu.Lock()
	if ps := p.peers[key]; ps != nil {
		for i, x := range ps.sessions {
			if x == s {
				ps.sessions = append(ps.sessions[:i], ps.sessions[i+1:]...)
				break
			}
		}
		if len(ps.sessions) == 0 && ps.dial == nil {
			delete(p.peers, key)
		}
	}
	p.mu.Unlock()
	p.t.dropSession(s)
}

// dialSession dials addr, runs the TLS handshake as key.source requiring
// key.target, starts a yamux client and confirms the tunnel with a ping
// (Go's TLS client learns that the server rejected its certificate only
// on its first read). All of it is bounded by DialTimeout.
func (t *Tunnel) dialSession(key poolKey, pins []string) (*session, error) {
	start := time.Now()
	s, err := t.dialSessionRaw(key, pins)
	d := time.Since(start)
	if err != nil {
		reason := identity.ReasonOf(err)
		t.metrics.Handshake(DirOutbound, ResultFailed, reason, d)
		t.outLog.Warn("tunnel dial failed", "source", key.source, "target", key.target,
			"address", key.addr, "reason", reason, "error", err)
		return nil, err
	}
	t.metrics.Handshake(DirOutbound, ResultOK, "", d)
	t.outLog.Debug("tunnel up", "source", key.source, "target", key.target, "address", key.addr,
		"duration", d)
	t.addSession(s)
	if st := s.ctrl.Load(); st != nil {
		t.goFunc(func() { t.readControl(s, st) })
	}
	return s, nil
}

func (t *Tunnel) dialSessionRaw(key poolKey, pins []string) (*session, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	cfg, err := t.cfg.TLS.ClientConfig(key.source, key.target, pins)
	if err != nil {
		return nil, fmt.Errorf("tunnel: client config for %s -> %s: %w", key.source, key.target, err)
	}
	// Remember which certificate we present: the session must be renewed
	// before it expires, like the peer's.
	var ownExpiry time.Time
	if get := cfg.GetClientCertificate; get != nil {
		cfg = cfg.Clone()
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := get(cri)
			if c != nil && c.Leaf != nil {
				ownExpiry = c.Leaf.NotAfter
			}
			return c, err
		}
	}
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", key.addr)
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", key.addr, err)
	}
	setNoDelay(raw)
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tunnel: TLS handshake with %s: %w", key.addr, err)
	}
	rec := &readErrConn{Conn: &coalesceConn{Conn: tc}}
	ym, err := yamux.Client(rec, t.ymCfg)
	if err != nil {
		tc.Close()
		return nil, fmt.Errorf("tunnel: yamux client: %w", err)
	}
	pinged := make(chan error, 1)
	go func() {
		_, err := ym.Ping()
		pinged <- err
	}()
	select {
	case err = <-pinged:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		ym.Close()
		if rerr := rec.err(); rerr != nil {
			err = rerr // the TLS alert says more than "session shutdown"
		}
		return nil, fmt.Errorf("tunnel: confirm tunnel to %s: %w", key.addr, err)
	}
	s := &session{
		id:        t.nextID.Add(1),
		direction: DirOutbound,
		source:    key.source,
		target:    key.target,
		addr:      key.addr,
		ym:        ym,
		conn:      tc,
		cs:        tc.ConnectionState(),
		openedAt:  time.Now(),
		expires:   ownExpiry,
	}
	s.idleSince.Store(time.Now().UnixNano())
	if pc := s.cs.PeerCertificates; len(pc) > 0 && (s.expires.IsZero() || pc[0].NotAfter.Before(s.expires)) {
		s.expires = pc[0].NotAfter
	}
	if err := t.openControl(s); err != nil {
		ym.Close()
		return nil, fmt.Errorf("tunnel: confirm tunnel to %s: %w", key.addr, err)
	}
	return s, nil
}

// readErrConn remembers the first read error of its conn, so that a
// handshake refused by the server after our side finished (a TLS 1.3
// client-certificate rejection) can be reported with the server's alert.
type readErrConn struct {
	net.Conn
	mu    sync.Mutex
	first error
}

func (c *readErrConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.mu.Lock()
		if c.first == nil {
			c.first = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *readErrConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil || errors.Is(c.first, net.ErrClosed) {
		return nil
	}
	return c.first
}

func setNoDelay(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
}
