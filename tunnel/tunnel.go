package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/policy"
)

// Tunnel is the data plane of one agent. Create it with New, bind with
// Start, end with Shutdown or Close. Its methods are safe for concurrent use.
type Tunnel struct {
	cfg     Config
	metrics Metrics
	log     hclog.Logger
	inLog   hclog.Logger
	outLog  hclog.Logger
	access  hclog.Logger
	ymCfg   *yamux.Config
	// peerID extracts the verified peer's SPIFFE ID (identity.PeerID).
	peerID func(tls.ConnectionState) (string, error)

	ctx    context.Context // canceled by Close: ends dials and handshakes
	cancel context.CancelFunc
	hsSem  chan struct{} // one token per inbound handshake in progress
	pool   *pool
	reg    *registry
	nextID atomic.Uint64
	// streams counts the stream slots taken under MaxStreams (reserveStream).
	streams atomic.Int64
	// overloadLog rate-limits the warnings of refusals that a flood
	// repeats (the metrics count every one).
	overloadLog struct{ sessionFull, streamsFull, handshakesFull logLimiter }

	exposes  atomic.Pointer[exposeTable]
	draining atomic.Bool

	// mu guards the fields below.
	mu        sync.Mutex
	started   bool
	closed    bool
	ln        net.Listener
	upstreams map[string]*upstreamListener // by Upstream.key()
	sessions  map[uint64]*session

	wg sync.WaitGroup // every goroutine the Tunnel starts
}

// New checks cfg and returns a Tunnel; it binds nothing (see Start).
func New(cfg Config) (*Tunnel, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tunnel{
		cfg:       cfg,
		metrics:   cfg.Metrics,
		log:       cfg.Logger,
		inLog:     cfg.Logger.Named("inbound"),
		outLog:    cfg.Logger.Named("outbound"),
		access:    cfg.Logger.Named("access"),
		ymCfg:     yamuxConfig(cfg.Logger.Named("yamux"), cfg.StreamWindow),
		peerID:    identity.PeerID,
		ctx:       ctx,
		cancel:    cancel,
		hsSem:     make(chan struct{}, cfg.MaxHandshakes),
		reg:       newRegistry(),
		upstreams: map[string]*upstreamListener{},
		sessions:  map[uint64]*session{},
	}
	t.pool = newPool(t)
	t.exposes.Store(newExposeTable(cfg.Exposes))
	return t, nil
}

// Start binds the inbound listener (when Config.Listen is set) and every
// upstream listener, and starts accepting. On failure it closes what it
// bound and returns one sentence naming the address.
func (t *Tunnel) Start() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if t.started {
		return errors.New("tunnel: already started")
	}
	var bound []*upstreamListener
	if t.cfg.Listen != "" {
		ln, err := net.Listen("tcp", t.cfg.Listen)
		if err != nil {
			return &ListenError{Addr: t.cfg.Listen, Err: err}
		}
		t.ln = ln
	}
	for _, u := range t.cfg.Upstreams {
		ul, err := t.listenUpstream(u)
		if err != nil {
			for _, b := range bound {
				b.ln.Close()
			}
			if t.ln != nil {
				t.ln.Close()
				t.ln = nil
			}
			return err
		}
		bound = append(bound, ul)
	}
	t.started = true
	t.goFunc(t.pool.janitor)
	if t.ln != nil {
		t.inLog.Info("tunnel port listening", "address", t.ln.Addr().String())
		t.goFunc(func() { t.acceptInbound(t.ln) })
	}
	for _, ul := range bound {
		t.startUpstream(ul)
	}
	return nil
}

// goFunc runs f in a goroutine tracked by t.wg.
func (t *Tunnel) goFunc(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// Addr is the bound inbound tunnel address, nil before Start or without one.
func (t *Tunnel) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// UpstreamAddr is the bound address of workload source's upstream name,
// nil when there is none.
func (t *Tunnel) UpstreamAddr(source, name string) net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ul := t.upstreams[Upstream{Source: source, Name: name}.key()]; ul != nil {
		return ul.ln.Addr()
	}
	return nil
}

func (t *Tunnel) addSession(s *session) {
	t.mu.Lock()
	closed := t.closed
	if !closed {
		t.sessions[s.id] = s
	}
	t.mu.Unlock()
	if closed {
		s.closeWith(EndShutdown)
		return
	}
	t.metrics.ActiveTunnels(s.direction, 1)
}

// dropSession forgets a closed session.
func (t *Tunnel) dropSession(s *session) {
	t.mu.Lock()
	_, ok := t.sessions[s.id]
	delete(t.sessions, s.id)
	t.mu.Unlock()
	if ok {
		t.metrics.ActiveTunnels(s.direction, -1)
	}
}

func (t *Tunnel) sessionList() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, s)
	}
	return out
}

// Recheck re-verifies every session's peer with TLS.Recheck (closing the
// sessions whose peer is no longer valid) and re-authorizes every live
// stream in both directions (resetting the denied ones). Call it after a
// policy or identity reload. It returns how many streams were cut.
func (t *Tunnel) Recheck() int {
	cut := 0
	for _, s := range t.sessionList() {
		t.renewIfCertReplaced(s)
		err := t.cfg.TLS.Recheck(s.cs)
		if err == nil {
			err = t.localRevoked(s)
		}
		if err == nil {
			continue
		}
		if identity.ReasonOf(err) == identity.ReasonExpired {
			// A certificate that merely ran out is routine (its holder has
			// renewed, or will be refused at its next handshake): the
			// session takes no new streams and its open ones finish.
			// Revocation and removed trust cut at once, below.
			if !s.draining.Swap(true) {
				t.log.Info("tunnel certificate expired, draining", "direction", s.direction,
					"source", s.source, "target", s.target, "address", s.addr)
			}
			continue
		}
		n := t.reg.onSession(s)
		what := "tunnel peer no longer valid, closing"
		if errors.Is(err, identity.ErrOwnCertRevoked) {
			what = "our certificate for this tunnel is revoked, closing"
		}
		t.log.Warn(what, "direction", s.direction,
			"source", s.source, "target", s.target, "address", s.addr, "streams", n,
			"reason", identity.ReasonOf(err), "error", err)
		s.closeWith(EndRevoked)
		cut += n
	}
	for _, ls := range t.reg.snapshot() {
		if ls.sess.ym.IsClosed() || (ls.direction == DirOutbound && ls.port == 0) {
			continue
		}
		// Asked again without counting a decision or logging audit
		// matches: a live stream is decided once, when it opens; only a
		// cut is a new decision.
		d := t.cfg.Authorize(policy.Request{From: ls.source, To: ls.target, Port: ls.port})
		if d.Allow {
			continue
		}
		t.metrics.PolicyDecision("deny", d.Rule)
		ls.cutRule.Store(&d.Rule)
		if ls.cut(EndPolicyChange) {
			t.log.Info("stream denied by new policy, reset", "direction", ls.direction,
				"source", ls.source, "target", ls.target, "port", ls.port, "rule", d.Rule)
			cut++
		}
	}
	return cut
}

// renewIfCertReplaced retires s once our certificate it was made with has
// been replaced, so that the old certificate (and during a CA rotation the
// old CA) can go without cutting streams. Outbound: s takes no new streams
// and the pool dials a session with the new certificate. Inbound: the
// caller cannot know we renewed, so we send a GoAway; its agent then opens
// new streams on a fresh session, which gets our new certificate. Open
// streams finish in both cases.
func (t *Tunnel) renewIfCertReplaced(s *session) {
	if s.hsStart.IsZero() || s.draining.Load() {
		return
	}
	if loaded := t.certLoadedAt(s.localID()); loaded.IsZero() || s.hsStart.After(loaded) {
		return
	}
	s.draining.Store(true)
	if s.direction == DirInbound {
		go goAway(s.ym)
	}
	t.log.Debug("certificate replaced, renewing tunnel", "direction", s.direction,
		"source", s.source, "target", s.target, "address", s.addr)
}

// ClosePeer closes every outbound session to addr (a peer discovery
// reports dead); their streams are reset with end "peer_gone".
func (t *Tunnel) ClosePeer(addr string) {
	for _, s := range t.sessionList() {
		if s.direction == DirOutbound && s.addr == addr {
			t.outLog.Info("closing tunnels to departed peer", "address", addr, "target", s.target)
			s.closeWith(EndPeerGone)
		}
	}
}

// DrainPeer stops giving new streams to the outbound sessions to addr (a
// peer that left gracefully and is draining) and lets their open streams
// finish; each session closes once it has none. Use ClosePeer for a peer
// that died: closing a draining peer's sessions would cut the streams it
// is trying to finish.
func (t *Tunnel) DrainPeer(addr string) {
	for _, s := range t.sessionList() {
		if s.direction == DirOutbound && s.addr == addr {
			s.draining.Store(true)
		}
	}
	t.pool.sweep(time.Now())
}

// Shutdown drains: it stops accepting on every listener, sends GoAway on
// every session, waits for open streams to end until ctx is done, then
// resets the rest and closes everything. It returns how many streams were
// cut, and ctx's error when the deadline cut any.
func (t *Tunnel) Shutdown(ctx context.Context) (int, error) {
	t.draining.Store(true)
	t.closeListeners()
	for _, s := range t.sessionList() {
		s.draining.Store(true)
		go goAway(s.ym)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for t.reg.len() > 0 {
		select {
		case <-ctx.Done():
			cut := t.cutAll(EndShutdown)
			t.Close()
			return cut, ctx.Err()
		case <-tick.C:
		}
	}
	return 0, t.Close()
}

// Close stops everything at once: listeners, sessions and streams (which
// are reset). It is idempotent and waits for the Tunnel's goroutines.
func (t *Tunnel) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.wg.Wait()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.draining.Store(true)
	t.cancel()
	t.closeListeners()
	t.cutAll(EndShutdown)
	t.wg.Wait()
	return nil
}

// cutAll closes every session, then resets every live stream, and returns
// how many streams it cut. Sessions go first: a stream closed on a live
// session would reach the peer as a clean FIN, a dead session as a reset.
func (t *Tunnel) cutAll(why string) int {
	live := t.reg.snapshot()
	var wg sync.WaitGroup
	for _, s := range t.sessionList() {
		wg.Add(1)
		go func() { // in parallel: each may wait a moment for its GoAway
			defer wg.Done()
			s.closeWith(why)
		}()
	}
	wg.Wait()
	n := 0
	for _, ls := range live {
		if ls.cut(why) {
			n++
		}
	}
	return n
}

func (t *Tunnel) closeListeners() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln != nil {
		t.ln.Close()
	}
	for _, ul := range t.upstreams {
		ul.ln.Close()
	}
}
