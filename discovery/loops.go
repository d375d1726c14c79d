package discovery

import (
	"context"
	"net"
	"slices"
	"strconv"
	"time"
)

// sendLoop performs reliable sends (pull requests and replies) queued by the
// delegates, which must never block on the network themselves.
func (g *Gossip) sendLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-g.jobs:
			ml := g.ml.Load()
			if err := ml.SendReliable(&j.to, j.msg); err != nil {
				g.log.Debug("reliable send failed", "node", j.to.Name, "error", err)
				continue
			}
			g.stats.messagesSent.Add(1)
		}
	}
}

// enqueue hands a reliable send to the workers; when they are saturated the
// job is dropped and the reconcile loop asks again later.
func (g *Gossip) enqueue(j sendJob) {
	select {
	case g.jobs <- j:
	default:
		g.stats.sendsDropped.Add(1)
	}
}

// joinLoop joins the seeds, retrying with backoff until one answers. Then,
// every RejoinInterval, it contacts the seeds that are not alive members
// and a few members we hold dead (serf's "reconnect"): a push-pull with a
// member falsely declared dead makes it refute, and one across a healed
// partition merges the two sides. memberlist alone only does that at its
// next random push-pull, which can take minutes in a large cluster.
func (g *Gossip) joinLoop(ctx context.Context) {
	ml := g.ml.Load()
	backoff := time.Second
	joined := len(g.cfg.Join) == 0
	for {
		targets := g.cfg.Join
		if joined {
			targets = g.rejoinTargets(reconnectPerRound)
		}
		if len(targets) > 0 {
			n, err := ml.Join(targets)
			g.stats.joins.Add(1)
			switch {
			case n > 0 && !joined:
				g.log.Info("joined gossip cluster", "contacted", n, "members", ml.NumMembers())
				joined = true
			case n == 0 && !joined:
				g.log.Warn("gossip join failed; retrying", "seeds", len(targets), "retry_in", backoff, "error", err)
			case n == 0:
				g.log.Debug("gossip rejoin failed", "targets", len(targets), "error", err)
			}
		}
		wait := g.cfg.RejoinInterval
		if !joined {
			wait = backoff
			backoff = min(2*backoff, g.cfg.RejoinInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reconnectPerRound bounds the dead members contacted per rejoin round, so
// a real outage costs at most a few dial timeouts per round.
const reconnectPerRound = 3

// rejoinTargets returns the Join addresses that are not the gossip address
// of an alive member (names that are not IP:port are always contacted) and
// up to n random members we hold dead (not left: they said goodbye).
func (g *Gossip) rejoinTargets(n int) []string {
	g.mu.Lock()
	alive := make(map[string]bool, len(g.members))
	var dead []string
	for _, m := range g.members { // map order: a random sample
		switch {
		case m.State == StateAlive:
			alive[m.gossipAddr()] = true
		case m.State == StateDead && len(dead) < n:
			dead = append(dead, m.gossipAddr())
		}
	}
	g.mu.Unlock()
	var out []string
	for _, s := range g.cfg.Join {
		if !alive[s] {
			out = append(out, s)
		}
	}
	for _, d := range dead {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// reconcileLoop repairs the catalog (asks a member whose metadata generation
// is ahead of its catalog we hold to send it over TCP) and reaps members
// that have been dead longer than DeadRetention.
func (g *Gossip) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.Timing.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			jobs, unknown := g.reconcile(now)
			for _, j := range jobs {
				g.enqueue(j)
			}
			if len(unknown) > 0 {
				// memberlist missed these members' alive messages (lost
				// packets) and would learn of them only at a push-pull,
				// minutes away in a large cluster. Joining them is one.
				n, err := g.ml.Load().Join(unknown)
				g.stats.joins.Add(1)
				g.log.Debug("joined members known only from their catalog", "targets", len(unknown), "contacted", n, "error", err)
			}
		}
	}
}

// reconcile returns the pull requests to send and the gossip addresses of
// members whose catalog we hold but that memberlist has not told us about.
func (g *Gossip) reconcile(now time.Time) (jobs []sendJob, unknown []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	every := g.cfg.Timing.ReconcileInterval
	changed := false
	for name, m := range g.members {
		if name == g.cfg.NodeName {
			continue
		}
		if m.State == StateDead || m.State == StateLeft {
			if now.Sub(m.Since) > g.cfg.DeadRetention {
				delete(g.members, name)
				delete(g.catalogs, name)
				delete(g.partial, name)
				changed = true
			}
			continue
		}
		held := g.catalogs[name]
		if !m.MetaOK || (held != nil && held.Gen >= m.Meta.Gen) {
			m.aheadSince = time.Time{}
			continue
		}
		// Give broadcasts one interval to deliver before pulling.
		if m.aheadSince.IsZero() {
			m.aheadSince = now
			continue
		}
		if now.Sub(m.aheadSince) >= every && now.Sub(m.pulledAt) >= every {
			m.pulledAt = now
			g.stats.pullsSent.Add(1)
			jobs = append(jobs, sendJob{to: m.node(), msg: encodePull(pullRequest{From: g.cfg.NodeName, Node: name, Gen: m.Meta.Gen})})
		}
	}
	// Catalogs of nodes memberlist has not reported (yet, or any more).
	for name, c := range g.catalogs {
		switch {
		case g.members[name] != nil:
		case now.Sub(c.received) > g.cfg.DeadRetention:
			delete(g.catalogs, name)
		case c.GossipAddr != "" && len(unknown) < reconnectPerRound &&
			now.Sub(c.received) >= every && now.Sub(c.joinedAt) >= g.cfg.RejoinInterval:
			c.joinedAt = now
			unknown = append(unknown, c.GossipAddr)
		}
	}
	if changed {
		g.rebuildLocked()
	}
	return jobs, unknown
}

func joinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
