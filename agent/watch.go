package agent

import (
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
	"github.com/ztunnel-dev/ztunnel/policy"
)

// filePollInterval is how often the watcher stats the files a reload reads.
// Polling (not inotify) sees atomic renames and symlink swaps alike, costs a
// few stat calls, and works on every file system.
const filePollInterval = time.Second

// fileStamps stamps every file a reload under cfg reads.
func fileStamps(cfg *config.Config) map[string]fileStamp {
	m := map[string]fileStamp{}
	for _, f := range fileSet(cfg) {
		m[f] = stamp(f)
	}
	return m
}

// noteFiles records the files the config now in force reads, as a reload
// saw them: before is the snapshot taken before it read them (so that a
// file changed while the reload ran still differs at the next look), and
// files the reload added to the set are stamped now.
func (a *Agent) noteFiles(before map[string]fileStamp) {
	seen := fileStamps(a.cfg.Load())
	for f, s := range before {
		if _, ok := seen[f]; ok {
			seen[f] = s
		}
	}
	a.seenFiles.Store(&seen)
}

// watchFiles reloads when any file the agent reads differs from what the
// last reload, of any source, saw: a renewal's own reload or a SIGHUP
// after an edit does not cause a second one. A file caught half-written
// fails to load and keeps the old state; the next change (the rest of the
// write) triggers another reload.
func (a *Agent) watchFiles() {
	defer a.wg.Done()
	t := time.NewTicker(filePollInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		now, last := fileStamps(a.cfg.Load()), *a.seenFiles.Load()
		changed := len(now) != len(last)
		for f, s := range now {
			if last[f] != s {
				changed = true
				a.log.Debug("file changed", "file", f)
			}
		}
		if changed {
			_ = a.Reload("file")
		}
	}
}

// scheduleMaxSleep bounds one sleep of the schedule watcher. Its timer runs
// on the monotonic clock while windows are wall-clock times, so a clock
// step (NTP, a resumed VM) delays a boundary by at most this much. Waking
// before a boundary costs one NextChange, not a recheck.
const scheduleMaxSleep = time.Minute

// watchSchedule re-checks live streams when a policy schedule window opens
// or closes, so the end of a window cuts the streams it allowed. It
// rechecks only then: every recheck re-authorizes every live stream. A
// policy without schedules never wakes it; setPolicy does (policyNew), so
// a reloaded policy's windows are followed from the moment it is in force.
// The reload itself rechecks the streams against the new policy.
func (a *Agent) watchSchedule() {
	defer a.wg.Done()
	since := time.Now() // boundaries up to here are covered by a recheck
	for {
		now := time.Now()
		recheck, wait := scheduleStep(a.policy.Load(), since, now)
		if recheck {
			since = now
			if cut := a.tun.Recheck(); cut > 0 {
				a.log.Info("streams cut by a policy schedule", "count", cut)
			}
			continue
		}
		var fire <-chan time.Time
		var timer *time.Timer
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-a.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-a.policyNew:
			// The reload that replaced the policy rechecks every stream
			// after setPolicy: boundaries up to then need no recheck here.
			if at := a.policyAt.Load(); at != nil && at.After(since) {
				since = *at
			}
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// scheduleStep is the schedule watcher's decision at now, given that the
// live streams were last rechecked at since: recheck them now (a window of
// p opened or closed after since and by now), or sleep for wait, where 0
// means until the policy is replaced (p has no schedule that ever changes).
func scheduleStep(p *policy.Policy, since, now time.Time) (recheck bool, wait time.Duration) {
	next := p.NextChange(since)
	switch {
	case next.IsZero():
		return false, 0
	case !now.Before(next):
		return true, 0
	}
	return false, min(next.Sub(now), scheduleMaxSleep)
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
