package discovery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Gossip is a memberlist member that announces this node's tunnel address
// and workloads and resolves other members' workloads. All methods are safe
// for concurrent use.
//
// Locking: lock order is life, then memberlist's locks, then mu. memberlist
// calls our delegates while holding its node lock, and the delegates take
// mu; so neither a memberlist method nor the transmit queue (whose NumNodes
// callback must not reach memberlist either) is ever called with mu held.
type Gossip struct {
	cfg     Config
	log     hclog.Logger
	keyring *memberlist.Keyring
	queue   *memberlist.TransmitLimitedQueue
	ml      atomic.Pointer[memberlist.Memberlist]
	snap    atomic.Pointer[map[string][]string] // workload ID -> addresses, best first
	stats   counters
	alive   atomic.Int64 // alive members, self included; set by rebuildLocked
	jobs    chan sendJob // TCP sends done by the workers, never by a delegate

	started atomic.Bool
	// life serializes Start, SetLocal, SetKeys, Leave and Shutdown: Leave
	// must never run after memberlist's Shutdown (it panics there), an
	// update after Leave would make us alive again, and SetLocal's
	// broadcasts, queued without mu, must be queued in generation order.
	life     sync.Mutex
	shutdown bool // guarded by life
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex
	local    catalog                 // guarded by mu
	leaving  bool                    // guarded by mu; announced in metadata
	members  map[string]*memberState // guarded by mu; includes self
	catalogs map[string]*heldCatalog // guarded by mu; other nodes only
	partial  map[string]*assembly    // guarded by mu
	subs     []*subscriber           // guarded by mu
}

// sendJob is one reliable (TCP) message to a member.
type sendJob struct {
	to  memberlist.Node
	msg []byte
}

// New checks cfg and returns a Gossip that is not yet running. It has no
// side effects: nothing listens until Start.
func New(cfg Config) (*Gossip, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kr, err := memberlist.NewKeyring(cfg.Keys, cfg.Keys[0])
	if err != nil {
		return nil, fmt.Errorf("discovery: keyring: %w", err)
	}
	g := &Gossip{
		cfg:      cfg,
		log:      cfg.Logger.Named("discovery"),
		keyring:  kr,
		jobs:     make(chan sendJob, 1024),
		members:  make(map[string]*memberState),
		catalogs: make(map[string]*heldCatalog),
		partial:  make(map[string]*assembly),
		local: catalog{
			Node: cfg.NodeName,
			// A restarted node must supersede its old catalog: start the
			// generation at the wall clock.
			Gen:        uint64(time.Now().UnixNano()),
			TunnelAddr: cfg.TunnelAddr,
			Workloads:  cloneWorkloads(cfg.Workloads),
		},
	}
	retransmit := cfg.Timing.RetransmitMult
	if retransmit == 0 {
		retransmit = 4
	}
	g.queue = &memberlist.TransmitLimitedQueue{
		// Our own count, not ml.NumMembers: that takes memberlist's node
		// lock, which memberlist holds while it calls our event delegate.
		NumNodes:       func() int { return max(int(g.alive.Load()), 1) },
		RetransmitMult: retransmit,
	}
	g.mu.Lock()
	g.rebuildLocked()
	g.mu.Unlock()
	return g, nil
}

// memberlistConfig builds memberlist's config from ours.
func (g *Gossip) memberlistConfig() *memberlist.Config {
	c := g.cfg
	var mc *memberlist.Config
	switch c.Profile {
	case "wan":
		mc = memberlist.DefaultWANConfig()
	case "local":
		mc = memberlist.DefaultLocalConfig()
	default:
		mc = memberlist.DefaultLANConfig()
	}
	bind := netip.MustParseAddrPort(c.BindAddr) // checked by Validate
	adv := netip.MustParseAddrPort(c.Advertise)
	mc.Name = c.NodeName
	mc.BindAddr, mc.BindPort = bind.Addr().String(), int(bind.Port())
	// With BindPort 0 memberlist replaces AdvertisePort by the port it got.
	mc.AdvertiseAddr, mc.AdvertisePort = adv.Addr().String(), int(adv.Port())
	mc.Label = c.Label
	mc.Keyring = g.keyring
	mc.SecretKey = g.keyring.GetPrimaryKey()
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.DeadNodeReclaimTime = c.DeadNodeReclaimTime
	mc.Delegate = &delegate{g: g}
	mc.Events = &events{g: g}
	mc.Conflict = &conflicts{g: g}
	mc.LogOutput = nil
	mc.Logger = g.cfg.Logger.Named("memberlist").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})
	t := c.Timing
	setDur(&mc.ProbeInterval, t.ProbeInterval)
	setDur(&mc.ProbeTimeout, t.ProbeTimeout)
	setDur(&mc.GossipInterval, t.GossipInterval)
	setDur(&mc.PushPullInterval, t.PushPullInterval)
	setDur(&mc.GossipToTheDeadTime, t.GossipToTheDeadTime)
	setDur(&mc.TCPTimeout, t.TCPTimeout)
	if t.SuspicionMult > 0 {
		mc.SuspicionMult = t.SuspicionMult
	}
	if t.RetransmitMult > 0 {
		mc.RetransmitMult = t.RetransmitMult
	}
	return mc
}

func setDur(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// Start creates the memberlist (binding the gossip port) and returns; the
// join runs in the background, retried with backoff, and is repeated every
// RejoinInterval so partitions heal. A seed being down never fails Start.
// The background work stops when ctx is done or at Shutdown.
func (g *Gossip) Start(ctx context.Context) error {
	g.life.Lock()
	defer g.life.Unlock()
	if g.shutdown {
		return ErrShutdown
	}
	if g.started.Load() {
		return ErrAlreadyStarted
	}
	// memberlist reports a failed bind as text (%v): bind the TCP side once
	// ourselves first so that the caller can tell "address in use" apart.
	ln, err := net.Listen("tcp", g.cfg.BindAddr)
	if err != nil {
		return fmt.Errorf("discovery: start gossip on %s: %w", g.cfg.BindAddr, err)
	}
	ln.Close()
	ml, err := memberlist.Create(g.memberlistConfig())
	if err != nil {
		return fmt.Errorf("discovery: start gossip on %s: %w", g.cfg.BindAddr, err)
	}
	g.ml.Store(ml)
	g.started.Store(true)
	// Announce our catalog by gossip too, so members that learn of us from
	// others need neither a push-pull with us nor a pull.
	n := ml.LocalNode() // memberlist call: not under mu
	self := joinHostPort(n.Addr.String(), n.Port)
	g.mu.Lock()
	g.local.GossipAddr = self
	chunks := splitCatalog(g.local, chunkBudget)
	g.mu.Unlock()
	for _, c := range chunks {
		g.queue.QueueBroadcast(newBroadcast(c.Node, c.Index, encodeChunk(c)))
	}
	ctx, g.cancel = context.WithCancel(ctx)
	for range 4 {
		g.goBackground(func() { g.sendLoop(ctx) })
	}
	g.goBackground(func() { g.joinLoop(ctx) })
	g.goBackground(func() { g.reconcileLoop(ctx) })
	g.log.Info("gossip started", "node", g.cfg.NodeName, "addr", self, "seeds", len(g.cfg.Join))
	return nil
}

func (g *Gossip) goBackground(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// GossipAddr returns the gossip address memberlist advertises (useful with
// port 0), or "" before Start. It is read once at Start: memberlist's
// LocalNode returns its node record, which UpdateNode (SetLocal) rewrites
// without a lock.
func (g *Gossip) GossipAddr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.local.GossipAddr
}

// SetLocal replaces what this node announces (config reload) and broadcasts
// the change. It returns an error, and changes nothing, if the values are
// invalid or after Shutdown. After Leave it changes only the local view.
func (g *Gossip) SetLocal(tunnelAddr string, workloads []Workload) error {
	if errs := checkLocal(tunnelAddr, workloads); len(errs) > 0 {
		return fmt.Errorf("discovery: set local workloads: %w", errs[0])
	}
	g.life.Lock()
	defer g.life.Unlock()
	if g.shutdown {
		return ErrShutdown
	}
	g.mu.Lock()
	leaving := g.leaving
	g.local = catalog{Node: g.cfg.NodeName, Gen: g.local.Gen + 1, TunnelAddr: tunnelAddr, GossipAddr: g.local.GossipAddr, Workloads: cloneWorkloads(workloads)}
	chunks := splitCatalog(g.local, chunkBudget)
	g.rebuildLocked()
	if self := g.members[g.cfg.NodeName]; self != nil {
		g.emitLocked(EventUpdate, self)
	}
	g.mu.Unlock()
	if leaving {
		return nil
	}
	// Queued without mu: the queue calls back into NumNodes.
	for _, c := range chunks {
		g.queue.QueueBroadcast(newBroadcast(c.Node, c.Index, encodeChunk(c)))
	}
	if ml := g.ml.Load(); ml != nil && g.started.Load() {
		// UpdateNode waits for the new metadata to be broadcast; its error
		// only means "not yet sent", the broadcast still goes out.
		if err := ml.UpdateNode(g.cfg.Timing.ReconcileInterval); err != nil {
			g.log.Debug("metadata update not yet broadcast", "error", err)
		}
	}
	return nil
}

// SetKeys replaces the gossip keys without a restart: keys[0] becomes the
// primary (used to send), all are accepted, keys not listed are removed.
// Rotate with three calls cluster-wide: [old, new], then [new, old], then [new].
func (g *Gossip) SetKeys(keys [][]byte) error {
	if len(keys) == 0 {
		return ErrNoKeys
	}
	for i, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("discovery: set keys: key %d: %w", i+1, err)
		}
	}
	g.life.Lock()
	defer g.life.Unlock()
	for _, k := range keys {
		if err := g.keyring.AddKey(k); err != nil {
			return fmt.Errorf("discovery: set keys: %w", err)
		}
	}
	if err := g.keyring.UseKey(keys[0]); err != nil {
		return fmt.Errorf("discovery: set keys: %w", err)
	}
	for _, old := range g.keyring.GetKeys() {
		if !containsKey(keys, old) {
			if err := g.keyring.RemoveKey(old); err != nil {
				return fmt.Errorf("discovery: set keys: %w", err)
			}
		}
	}
	g.log.Info("gossip keys replaced", "keys", len(keys))
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, o := range keys {
		if string(o) == string(k) {
			return true
		}
	}
	return false
}

// Leave announces a graceful departure and waits up to timeout for it to be
// broadcast; this node stops resolving for its peers at once. Call Shutdown
// afterwards. A second Leave does nothing; Leave after Shutdown returns
// ErrShutdown (memberlist would panic).
func (g *Gossip) Leave(timeout time.Duration) error {
	g.life.Lock()
	defer g.life.Unlock()
	if g.shutdown {
		return ErrShutdown
	}
	ml := g.ml.Load()
	if ml == nil {
		return ErrNotStarted
	}
	// memberlist's own leave message reaches peers looking exactly like a
	// failure, so announce the leave first, twice: a flag in our metadata
	// and a leave notice that members gossip on (it also corrects a member
	// that got memberlist's message first).
	deadline := time.Now().Add(timeout)
	g.mu.Lock()
	if g.leaving {
		g.mu.Unlock()
		return nil // a metadata update now would make us alive again
	}
	g.leaving = true
	notice := encodeLeave(leaveNotice{Node: g.cfg.NodeName, Gen: g.local.Gen})
	g.mu.Unlock()
	sent := make(chan struct{})
	g.queue.QueueBroadcast(&broadcast{name: leaveBroadcastName(g.cfg.NodeName), msg: notice, notify: sent})
	if err := ml.UpdateNode(timeout / 2); err != nil {
		g.log.Debug("leaving flag not yet broadcast", "error", err)
	}
	if g.alive.Load() > 1 {
		select {
		case <-sent:
		case <-time.After(time.Until(deadline) / 2):
		}
	}
	if err := ml.Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		return fmt.Errorf("discovery: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossip without announcing it (peers detect the failure);
// call Leave first for a graceful exit. It is idempotent and closes every
// Subscribe channel.
func (g *Gossip) Shutdown() error {
	g.life.Lock()
	defer g.life.Unlock()
	if g.shutdown {
		return nil
	}
	g.shutdown = true
	if g.cancel != nil {
		g.cancel()
	}
	var err error
	if ml := g.ml.Load(); ml != nil {
		if e := ml.Shutdown(); e != nil {
			err = fmt.Errorf("discovery: shutdown: %w", e)
		}
	}
	// A loop may be inside a dial to a dead member (up to TCPTimeout per
	// address); it exits when that returns. Do not hold a draining agent
	// hostage to it: what it does after this point is harmless.
	stopped := make(chan struct{})
	go func() { g.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(shutdownWait):
		g.log.Debug("gossip background work still finishing a network call")
	}
	g.mu.Lock()
	for _, s := range g.subs {
		s.stop()
	}
	g.subs = nil
	g.mu.Unlock()
	return err
}

// shutdownWait bounds how long Shutdown waits for the background loops.
const shutdownWait = time.Second

func cloneWorkloads(ws []Workload) []Workload {
	out := make([]Workload, len(ws))
	for i, w := range ws {
		out[i] = Workload{ID: w.ID, Ports: append([]int(nil), w.Ports...)}
	}
	return out
}
