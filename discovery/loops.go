package discovery

import (
	"context"
	"net"
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

// joinLoop joins the seeds, retrying with backoff until one answers, then
// every RejoinInterval contacts the seeds that are not alive members, so a
// partition heals even after memberlist stopped gossiping to the dead.
func (g *Gossip) joinLoop(ctx context.Context) {
	if len(g.cfg.Join) == 0 {
		return
	}
	ml := g.ml.Load()
	backoff := time.Second
	joined := false
	for {
		seeds := g.cfg.Join
		if joined {
			seeds = g.unreachedSeeds()
		}
		if len(seeds) > 0 {
			n, err := ml.Join(seeds)
			g.stats.joins.Add(1)
			switch {
			case n > 0 && !joined:
				g.log.Info("joined gossip cluster", "contacted", n, "members", ml.NumMembers())
				joined = true
			case n == 0 && !joined:
				g.log.Warn("gossip join failed; retrying", "seeds", len(seeds), "retry_in", backoff, "error", err)
			case n == 0:
				g.log.Debug("gossip rejoin failed", "error", err)
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

// unreachedSeeds returns the Join addresses that are not the gossip address
// of an alive member (names that are not IP:port are always contacted).
func (g *Gossip) unreachedSeeds() []string {
	g.mu.Lock()
	alive := make(map[string]bool, len(g.members))
	for _, m := range g.members {
		if m.State == StateAlive {
			alive[m.gossipAddr()] = true
		}
	}
	g.mu.Unlock()
	var out []string
	for _, s := range g.cfg.Join {
		if !alive[s] {
			out = append(out, s)
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
			for _, j := range g.reconcile(now) {
				g.enqueue(j)
			}
		}
	}
}

func (g *Gossip) reconcile(now time.Time) []sendJob {
	g.mu.Lock()
	defer g.mu.Unlock()
	var jobs []sendJob
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
	// Catalogs learnt by push-pull for nodes we never saw as members.
	for name, c := range g.catalogs {
		if g.members[name] == nil && now.Sub(c.received) > g.cfg.DeadRetention {
			delete(g.catalogs, name)
		}
	}
	if changed {
		g.rebuildLocked()
	}
	return jobs
}

func joinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
