package discovery

import (
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
)

// heldCatalog is another node's catalog as we hold it.
type heldCatalog struct {
	catalog
	received time.Time
	joinedAt time.Time // last join attempt while memberlist did not know the node
}

// assembly collects the chunks of one generation of a node's catalog.
type assembly struct {
	gen        uint64
	total      int
	tunnelAddr string
	gossipAddr string
	parts      map[int][]Workload
}

// Resolve returns the tunnel addresses of the alive members serving target
// (this node first, then others by name), or nil. It reads an immutable
// snapshot and never blocks; the caller owns the returned slice.
func (g *Gossip) Resolve(target string) []string {
	t := g.snap.Load()
	if t == nil {
		return nil
	}
	return slices.Clone((*t)[target])
}

// rebuildLocked recomputes the Resolve snapshot from the local catalog and
// the catalogs of alive members.
func (g *Gossip) rebuildLocked() {
	t := make(map[string][]string)
	add := func(addr string, ws []Workload) {
		if addr == "" {
			return
		}
		for _, w := range ws {
			if !slices.Contains(t[w.ID], addr) {
				t[w.ID] = append(t[w.ID], addr)
			}
		}
	}
	add(g.local.TunnelAddr, g.local.Workloads)
	names := make([]string, 0, len(g.catalogs))
	for name := range g.catalogs {
		// A leaving member gets no new connections while it drains.
		if m := g.members[name]; m != nil && m.State == StateAlive && !m.Meta.Leaving {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	alive := int64(0)
	for _, m := range g.members {
		if m.State == StateAlive {
			alive++
		}
	}
	g.alive.Store(alive)
	for _, name := range names {
		c := g.catalogs[name]
		add(c.TunnelAddr, c.Workloads)
	}
	g.snap.Store(&t)
}

// applyCatalogLocked stores c if it is newer than what we hold and reports
// whether it did.
func (g *Gossip) applyCatalogLocked(c catalog) bool {
	if c.Node == g.cfg.NodeName {
		return false // we are the authority on ourselves
	}
	held := g.catalogs[c.Node]
	if held != nil && held.Gen >= c.Gen {
		return false
	}
	if held == nil && len(g.catalogs) >= maxStateNodes {
		return false
	}
	g.catalogs[c.Node] = &heldCatalog{catalog: c, received: time.Now()}
	if a := g.partial[c.Node]; a != nil && a.gen <= c.Gen {
		delete(g.partial, c.Node)
	}
	if m := g.members[c.Node]; m != nil && m.State == StateAlive {
		g.rebuildLocked()
		g.emitLocked(EventUpdate, m)
	}
	return true
}

// applyChunkLocked adds a chunk and reports whether it was new (so that it
// is worth gossiping on).
func (g *Gossip) applyChunkLocked(c *chunk) bool {
	if c.Node == g.cfg.NodeName {
		return false
	}
	if held := g.catalogs[c.Node]; held != nil && held.Gen >= c.Gen {
		return false
	}
	if c.Total == 1 {
		return g.applyCatalogLocked(c.catalog)
	}
	a := g.partial[c.Node]
	switch {
	case a == nil || a.gen < c.Gen:
		if a == nil && len(g.partial) >= maxStateNodes {
			return false
		}
		a = &assembly{gen: c.Gen, total: c.Total, tunnelAddr: c.TunnelAddr, gossipAddr: c.GossipAddr, parts: make(map[int][]Workload)}
		g.partial[c.Node] = a
	case a.gen > c.Gen || a.total != c.Total || a.tunnelAddr != c.TunnelAddr || a.gossipAddr != c.GossipAddr:
		return false
	}
	if _, dup := a.parts[c.Index]; dup {
		return false
	}
	a.parts[c.Index] = c.Workloads
	if len(a.parts) == a.total {
		full := catalog{Node: c.Node, Gen: a.gen, TunnelAddr: a.tunnelAddr, GossipAddr: a.gossipAddr}
		for i := range a.total {
			full.Workloads = append(full.Workloads, a.parts[i]...)
		}
		delete(g.partial, c.Node)
		g.applyCatalogLocked(full)
	}
	return true
}

// stateLocked lists the catalogs to send in a push-pull. A joining member
// gets ours and those of every member not known to be gone, so it can
// resolve at once; a periodic push-pull carries only ours (members learn
// the rest from gossip, and pull what their metadata says they miss), which
// keeps the periodic cost independent of the cluster size.
func (g *Gossip) stateLocked(join bool) []catalog {
	out := []catalog{g.local}
	if !join {
		return out
	}
	for name, c := range g.catalogs {
		if m := g.members[name]; m != nil && (m.State == StateDead || m.State == StateLeft) {
			continue
		}
		out = append(out, c.catalog)
	}
	return out
}

// broadcast is one catalog chunk in memberlist's transmit queue. A newer
// chunk with the same node and index replaces an older one.
type broadcast struct {
	name   string
	msg    []byte
	notify chan struct{} // closed by Finished when not nil
}

var _ memberlist.NamedBroadcast = (*broadcast)(nil)

func newBroadcast(node string, index int, msg []byte) *broadcast {
	return &broadcast{name: node + "\x00" + strconv.Itoa(index), msg: msg}
}

func (b *broadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.name
}
func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished() {
	if b.notify != nil {
		close(b.notify)
	}
}

func leaveBroadcastName(node string) string { return node + "\x00leave" }

// applyLeaveLocked records a leave notice and reports whether it was new.
// It works in either order with memberlist's own leave message: before it,
// the member stops resolving at once; after it, a member recorded dead is
// corrected to left.
func (g *Gossip) applyLeaveLocked(l *leaveNotice) bool {
	m := g.members[l.Node]
	if m == nil || l.Node == g.cfg.NodeName || m.Meta.Leaving || (m.MetaOK && m.Meta.Gen > l.Gen) {
		return false // unknown, already known, or from before a restart
	}
	m.Meta.Leaving = true
	if m.State == StateDead {
		m.State = StateLeft
		g.emitLocked(EventLeave, m)
	}
	g.rebuildLocked()
	return true
}
