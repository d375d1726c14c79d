package tunnel

import (
	"context"
	"fmt"
	"sync"
	"time"
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

// renewTime is when a session opened at opened, whose first certificate
// expires at expires, stops taking new streams: renewBefore ahead of the
// expiry, but never earlier than half-way through the life the session had
// left when it opened. With hour-long certificates that is a minute before
// expiry; with certificates of a few seconds (renewed at half their life)
// it is half-way, so a session is not retired the moment it is made.
func renewTime(opened, expires time.Time) time.Time {
	if expires.IsZero() {
		return time.Time{}
	}
	early, half := expires.Add(-renewBefore), opened.Add(expires.Sub(opened)/2)
	if early.Before(half) {
		return half
	}
	return early
}

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

// active counts the sessions that may still take new streams.
func (ps *peerSessions) active() int {
	n := 0
	for _, s := range ps.sessions {
		if !s.draining.Load() && !s.ym.IsClosed() {
			n++
		}
	}
	return n
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

// failed puts addr in back-off after a failure (dial, handshake, ping).
func (p *pool) failed(addr string) {
	p.mu.Lock()
	p.failedLocked(addr)
	p.mu.Unlock()
}

func (p *pool) failedLocked(addr string) {
	b := p.backoff[addr]
	if b == nil {
		b = &backoffState{}
		p.backoff[addr] = b
	}
	b.failures++
	b.until = time.Now().Add(min(backoffMin<<min(b.failures-1, 16), backoffMax))
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
			if !s.renewAt.IsZero() && now.After(s.renewAt) {
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
		// Draining sessions (renewed, GoAway) only finish their streams:
		// they do not count against the cap on sessions taking new ones.
		if n := ps.active(); n >= p.t.cfg.SessionsPerPeer {
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: %d sessions of %d streams to %s", ErrPoolFull,
				n, p.t.cfg.StreamsPerSession, key.addr)
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
			// A peer that sent GoAway (or reset) while we confirmed the
			// tunnel is alive and renewing its certificate: a fresh dial
			// (the caller retries) gets its new one. Only other failures
			// put the address in back-off.
			if !retryOnFreshSession(err) {
				p.failedLocked(key.addr)
			}
			if len(ps.sessions) == 0 {
				delete(p.peers, key) // no state is kept for peers we never reached
			}
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
		if s.draining.Load() {
			p.sweep(time.Now()) // a drained session closes now, not at the next tick
		}
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
			expiring := !s.renewAt.IsZero() && now.After(s.renewAt)
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
	for addr, b := range p.backoff {
		if now.Sub(b.until) > backoffMax {
			delete(p.backoff, addr) // long past: the next failure starts over
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
			p.t.sweepInbound(now)
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
