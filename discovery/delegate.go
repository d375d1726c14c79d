package discovery

import (
	"errors"
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate implements memberlist.Delegate for a Gossip. Every method runs on
// a memberlist goroutine, some with memberlist locks held: none blocks on
// the network or calls back into memberlist.
type delegate struct{ g *Gossip }

var _ memberlist.Delegate = (*delegate)(nil)

func (d *delegate) NodeMeta(limit int) []byte {
	g := d.g
	g.mu.Lock()
	m := nodeMeta{Leaving: g.leaving, Gen: g.local.Gen, TunnelAddr: g.local.TunnelAddr}
	g.mu.Unlock()
	b, err := encodeMeta(m)
	if err != nil || len(b) > limit {
		// Unreachable: Validate bounds the tunnel address. Never hand
		// memberlist more than limit: it panics.
		g.log.Error("node metadata too large", "bytes", len(b), "limit", limit)
		return nil
	}
	return b
}

func (d *delegate) NotifyMsg(b []byte) {
	g := d.g
	msg, ok := g.decode(b, "gossip message")
	if !ok {
		return
	}
	g.stats.messagesReceived.Add(1)
	switch {
	case msg.Chunk != nil:
		g.mu.Lock()
		fresh := g.applyChunkLocked(msg.Chunk)
		g.mu.Unlock()
		if fresh && len(b) <= chunkBudget {
			// Gossip it on: memberlist only retransmits what the origin
			// queued, which would reach few members of a large cluster.
			g.queue.QueueBroadcast(newBroadcast(msg.Chunk.Node, msg.Chunk.Index, append([]byte(nil), b...)))
		}
	case msg.Pull != nil:
		g.servePull(msg.Pull)
	case msg.Leave != nil:
		g.mu.Lock()
		fresh := g.applyLeaveLocked(msg.Leave)
		g.mu.Unlock()
		if fresh {
			g.queue.QueueBroadcast(&broadcast{name: leaveBroadcastName(msg.Leave.Node), msg: append([]byte(nil), b...)})
		}
	case msg.State != nil:
		g.mergeState(msg.State)
	}
}

// servePull answers a pull request for our catalog with the whole catalog
// in one reliable message.
func (g *Gossip) servePull(p *pullRequest) {
	g.mu.Lock()
	m := g.members[p.From]
	if p.Node != g.cfg.NodeName || m == nil || m.State != StateAlive {
		g.mu.Unlock()
		return
	}
	j := sendJob{to: m.node(), msg: encodeChunk(chunk{catalog: g.local, Index: 0, Total: 1})}
	g.mu.Unlock()
	g.stats.pullsServed.Add(1)
	g.enqueue(j)
}

func (g *Gossip) mergeState(cs []catalog) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.applyCatalogLocked(c)
	}
}

// decode decodes a message, counting and logging failures. An unknown
// version is logged once at warn level (a newer peer during an upgrade),
// then at debug.
func (g *Gossip) decode(b []byte, what string) (message, bool) {
	msg, err := decodeMessage(b)
	if err == nil {
		return msg, true
	}
	if errors.Is(err, ErrUnknownVersion) {
		if g.stats.unknownVersion.Add(1) == 1 {
			g.log.Warn("ignoring gossip data of an unknown format version", "what", what, "error", err)
		} else {
			g.log.Debug("ignoring gossip data of an unknown format version", "what", what, "error", err)
		}
		return message{}, false
	}
	g.stats.decodeErrors.Add(1)
	g.log.Warn("ignoring malformed gossip data", "what", what, "bytes", len(b), "error", err)
	return message{}, false
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.g.queue.GetBroadcasts(overhead, limit)
}

func (d *delegate) LocalState(join bool) []byte {
	g := d.g
	g.mu.Lock()
	defer g.mu.Unlock()
	return encodeStateLimit(g.stateLocked(join), maxJoinState)
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	g := d.g
	msg, ok := g.decode(buf, "push-pull state")
	if !ok || msg.State == nil {
		return
	}
	g.stats.pushPulls.Add(1)
	g.mergeState(msg.State)
}

// events implements memberlist.EventDelegate. memberlist calls it with its
// node lock held: it only updates our table.
type events struct{ g *Gossip }

var _ memberlist.EventDelegate = (*events)(nil)

func (e *events) NotifyJoin(n *memberlist.Node)   { e.g.noteNode(n, EventJoin) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.g.noteNode(n, EventUpdate) }

// NotifyLeave cannot tell a graceful leave from a failure: memberlist passes
// a Node whose State field it never updates. A member that leaves through
// Gossip.Leave first announces it in its metadata (Leaving flag).
func (e *events) NotifyLeave(n *memberlist.Node) { e.g.noteNode(n, EventDead) }

func (g *Gossip) noteNode(n *memberlist.Node, t EventType) {
	meta, metaErr := decodeMetaLogged(g, n.Meta)
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[n.Name]
	if m == nil {
		m = &memberState{Name: n.Name}
		g.members[n.Name] = m
	}
	state := StateAlive
	if t == EventDead {
		if (metaErr == nil && meta.Leaving) || (m.MetaOK && m.Meta.Leaving) {
			t, state = EventLeave, StateLeft
		} else {
			state = StateDead
		}
	}
	if m.State != state {
		m.Since = time.Now()
	}
	m.Addr, m.Port, m.State = append([]byte(nil), n.Addr...), n.Port, state
	if metaErr == nil || state == StateAlive {
		m.Meta, m.MetaOK = meta, metaErr == nil
	}
	if state != StateAlive {
		delete(g.partial, n.Name)
	}
	g.rebuildLocked()
	g.emitLocked(t, m)
}

func decodeMetaLogged(g *Gossip, b []byte) (nodeMeta, error) {
	m, err := decodeMeta(b)
	if err != nil && len(b) > 0 {
		if errors.Is(err, ErrUnknownVersion) {
			g.stats.unknownVersion.Add(1)
		} else {
			g.stats.decodeErrors.Add(1)
		}
		g.log.Warn("ignoring node metadata", "error", err)
	}
	return m, err
}

// conflicts logs two members claiming one name (memberlist keeps the first;
// the second is not admitted until the first is dead for
// DeadNodeReclaimTime).
type conflicts struct{ g *Gossip }

var _ memberlist.ConflictDelegate = (*conflicts)(nil)

func (c *conflicts) NotifyConflict(existing, other *memberlist.Node) {
	c.g.log.Warn("two gossip members use the same node name", "node", existing.Name,
		"existing", joinHostPort(existing.Addr.String(), existing.Port), "other", joinHostPort(other.Addr.String(), other.Port))
}
