package discovery

import (
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Member states as reported by Members. memberlist exposes suspicion only
// through racy reads of its internal node table, so a suspect member is
// reported "alive" until it is declared dead; StateSuspect is kept for the
// admin API contract.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

// Member is one gossip member as this node sees it.
type Member struct {
	Name       string     `json:"name"`
	GossipAddr string     `json:"gossip_addr"`
	TunnelAddr string     `json:"tunnel_addr"`
	State      string     `json:"state"`
	Self       bool       `json:"self,omitempty"`
	Workloads  []Workload `json:"workloads"`
}

// EventType says what happened to a member.
type EventType string

// Event types.
const (
	EventJoin   EventType = "join"   // a member became alive
	EventUpdate EventType = "update" // its tunnel address or workloads changed
	EventLeave  EventType = "leave"  // it left gracefully
	EventDead   EventType = "dead"   // it failed: close sessions to Member.TunnelAddr
)

// Event is a membership change, with the member's state after it.
type Event struct {
	Type   EventType `json:"type"`
	Member Member    `json:"member"`
}

// memberState is our record of one memberlist node (guarded by Gossip.mu).
type memberState struct {
	Name   string
	Addr   net.IP
	Port   uint16
	State  string
	Meta   nodeMeta
	MetaOK bool
	Since  time.Time // last state change

	aheadSince time.Time // first seen with metadata generation > held catalog
	pulledAt   time.Time // last pull request sent
}

func (m *memberState) gossipAddr() string { return joinHostPort(m.Addr.String(), m.Port) }

func (m *memberState) node() memberlist.Node {
	return memberlist.Node{Name: m.Name, Addr: m.Addr, Port: m.Port}
}

// memberLocked builds the public view of m.
func (g *Gossip) memberLocked(m *memberState) Member {
	out := Member{Name: m.Name, GossipAddr: m.gossipAddr(), State: m.State, Self: m.Name == g.cfg.NodeName}
	if m.MetaOK {
		out.TunnelAddr = m.Meta.TunnelAddr
	}
	var ws []Workload
	if out.Self {
		out.TunnelAddr, ws = g.local.TunnelAddr, g.local.Workloads
	} else if c := g.catalogs[m.Name]; c != nil {
		if c.Gen >= m.Meta.Gen || out.TunnelAddr == "" {
			out.TunnelAddr = c.TunnelAddr
		}
		ws = c.Workloads
	}
	out.Workloads = cloneWorkloads(ws)
	return out
}

// Members returns every member this node knows, including itself and dead
// or left members not yet reaped, sorted by name.
func (g *Gossip) Members() []Member {
	g.mu.Lock()
	out := make([]Member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, g.memberLocked(m))
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// subscriber delivers events in order to ch without ever blocking the
// emitter: events wait in a bounded queue (oldest dropped when full).
type subscriber struct {
	ch     chan Event
	max    int
	wake   chan struct{}
	quit   chan struct{}
	mu     sync.Mutex
	queue  []Event
	drops  *atomic.Uint64
	closed sync.Once
}

// Subscribe returns a channel of membership events. It is closed by
// Shutdown. A subscriber that stops reading loses the oldest events once
// 16×EventBuffer are waiting.
func (g *Gossip) Subscribe() <-chan Event {
	s := &subscriber{
		ch:    make(chan Event, g.cfg.EventBuffer),
		max:   16 * max(g.cfg.EventBuffer, 1),
		wake:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		drops: &g.stats.eventsDropped,
	}
	g.life.Lock()
	defer g.life.Unlock()
	if g.shutdown {
		close(s.ch)
		return s.ch
	}
	g.mu.Lock()
	g.subs = append(g.subs, s)
	g.mu.Unlock()
	go s.run()
	return s.ch
}

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	if len(s.queue) >= s.max {
		s.queue = s.queue[1:]
		s.drops.Add(1)
	}
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) run() {
	defer close(s.ch)
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.queue) == 0 {
				s.mu.Unlock()
				break
			}
			e := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			select {
			case s.ch <- e:
			case <-s.quit:
				return
			}
		}
	}
}

func (s *subscriber) stop() { s.closed.Do(func() { close(s.quit) }) }

// emitLocked sends an event about m to every subscriber.
func (g *Gossip) emitLocked(t EventType, m *memberState) {
	if len(g.subs) == 0 {
		return
	}
	e := Event{Type: t, Member: g.memberLocked(m)}
	for _, s := range g.subs {
		s.push(e)
	}
}

// Stats are counters for metrics.
type Stats struct {
	Alive, Suspect, Dead, Left int // members by state, self included
	Workloads                  int // distinct workload IDs that resolve
	Catalogs                   int // other nodes' catalogs held
	BroadcastsQueued           int // catalog broadcasts waiting to be gossiped

	MessagesReceived uint64 // discovery messages (chunks, pulls, push-pull states)
	MessagesSent     uint64 // reliable sends (pull requests and replies)
	PushPulls        uint64 // remote states merged
	PullsSent        uint64 // catalog repair requests
	PullsServed      uint64
	DecodeErrors     uint64 // malformed messages or metadata
	UnknownVersion   uint64 // messages or metadata of an unknown format version
	SendsDropped     uint64 // reliable sends dropped because workers were busy
	EventsDropped    uint64 // events lost by slow subscribers
	Joins            uint64 // join attempts
}

type counters struct {
	messagesReceived, messagesSent, pushPulls, pullsSent, pullsServed atomic.Uint64
	decodeErrors, unknownVersion, sendsDropped, eventsDropped, joins  atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (g *Gossip) Stats() Stats {
	var s Stats
	g.mu.Lock()
	for _, m := range g.members {
		switch m.State {
		case StateAlive:
			s.Alive++
		case StateSuspect:
			s.Suspect++
		case StateDead:
			s.Dead++
		case StateLeft:
			s.Left++
		}
	}
	s.Catalogs = len(g.catalogs)
	g.mu.Unlock()
	if t := g.snap.Load(); t != nil {
		s.Workloads = len(*t)
	}
	s.BroadcastsQueued = g.queue.NumQueued()
	c := &g.stats
	s.MessagesReceived, s.MessagesSent = c.messagesReceived.Load(), c.messagesSent.Load()
	s.PushPulls, s.PullsSent, s.PullsServed = c.pushPulls.Load(), c.pullsSent.Load(), c.pullsServed.Load()
	s.DecodeErrors, s.UnknownVersion = c.decodeErrors.Load(), c.unknownVersion.Load()
	s.SendsDropped, s.EventsDropped, s.Joins = c.sendsDropped.Load(), c.eventsDropped.Load(), c.joins.Load()
	return s
}
