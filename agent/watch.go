package agent

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/discovery"
)

// filePollInterval is how often the watcher stats the files a reload reads.
// Polling (not inotify) sees atomic renames and symlink swaps alike, costs a
// few stat calls, and works on every file system.
const filePollInterval = time.Second

// watchFiles reloads when any file the agent reads changes on disk. A file
// caught half-written fails to load and keeps the old state; the next change
// (the rest of the write) triggers another reload.
func (a *Agent) watchFiles() {
	defer a.wg.Done()
	stamps := func() map[string]fileStamp {
		m := map[string]fileStamp{}
		for _, f := range fileSet(a.cfg.Load()) {
			m[f] = stamp(f)
		}
		return m
	}
	last := stamps()
	t := time.NewTicker(filePollInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		now := stamps()
		changed := len(now) != len(last)
		for f, s := range now {
			if last[f] != s {
				changed = true
				a.log.Debug("file changed", "file", f)
			}
		}
		if changed {
			// Keep the snapshot taken before the reload: a file that
			// changes while Reload reads (say between a key's and its
			// certificate's rename) then still differs at the next tick.
			_ = a.Reload("file")
			last = now
		}
	}
}

// watchSchedule re-checks live streams when a policy schedule window opens
// or closes, so the end of a window cuts the streams it allowed.
func (a *Agent) watchSchedule() {
	defer a.wg.Done()
	for {
		next := a.policy.Load().NextChange(time.Now())
		wait := time.Minute // also picks up a reloaded policy's schedule
		if !next.IsZero() {
			if d := time.Until(next); d < wait {
				wait = d
			}
		}
		select {
		case <-a.stop:
			return
		case <-time.After(wait):
		}
		if cut := a.tun.Recheck(); cut > 0 {
			a.log.Info("streams cut by a policy schedule", "count", cut)
		}
	}
}

// watchMembers closes the sessions to members gossip declares dead or gone.
func (a *Agent) watchMembers() {
	defer a.wg.Done()
	events := a.gossip.Subscribe()
	for {
		select {
		case <-a.stop:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Member.TunnelAddr == "" {
				continue
			}
			switch ev.Type {
			case discovery.EventDead:
				a.log.Info("member dead, closing its tunnels", "node", ev.Member.Name, "tunnel", ev.Member.TunnelAddr)
				a.tun.ClosePeer(ev.Member.TunnelAddr)
			case discovery.EventLeave:
				// A leaving member is draining: its open streams may finish,
				// new ones go elsewhere.
				a.log.Info("member left, draining its tunnels", "node", ev.Member.Name, "tunnel", ev.Member.TunnelAddr)
				a.tun.DrainPeer(ev.Member.TunnelAddr)
			}
		}
	}
}

// watchdog pings systemd's watchdog while the agent is ready.
func (a *Agent) watchdog(every time.Duration) {
	defer a.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			if a.ready.Load() {
				_ = a.notify.Notify("WATCHDOG=1")
			}
		}
	}
}

func hclogLevel(s string) hclog.Level { return hclog.LevelFromString(s) }
