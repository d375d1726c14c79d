package agent

import (
	"time"
)

// certCheckInterval is how often the agent looks at its own certificates'
// lifetimes.
const certCheckInterval = 30 * time.Second

// certWarnings remembers which serials were already warned about, so each
// certificate produces one warning at two thirds of its life and one error
// at expiry, not one per check.
type certWarnings struct {
	aging   map[string]bool
	expired map[string]bool
}

// checkCerts logs, once per certificate, a warning when a workload's
// certificate has passed two thirds of its lifetime (renewal is overdue)
// and an error when it has expired (peers refuse it; /readyz reports it).
func (a *Agent) checkCerts(seen *certWarnings, now time.Time) {
	store := a.store.Load()
	for _, w := range a.cfg.Load().Workloads {
		c := store.Current(w.ID)
		if c == nil {
			continue
		}
		life := c.NotAfter.Sub(c.NotBefore)
		switch {
		case now.After(c.NotAfter):
			if !seen.expired[c.Serial] {
				seen.expired[c.Serial] = true
				a.log.Error("workload certificate expired: peers refuse it until a valid one is loaded",
					"workload", w.Name, "id", w.ID, "serial", c.Serial, "not_after", c.NotAfter.UTC())
			}
		case now.After(c.NotBefore.Add(life * 2 / 3)):
			if !seen.aging[c.Serial] {
				seen.aging[c.Serial] = true
				a.log.Warn("workload certificate past two thirds of its lifetime: renew it",
					"workload", w.Name, "id", w.ID, "serial", c.Serial, "not_after", c.NotAfter.UTC(),
					"left", c.NotAfter.Sub(now).Round(time.Second))
			}
		}
	}
}

func (a *Agent) watchCerts() {
	defer a.wg.Done()
	seen := &certWarnings{aging: map[string]bool{}, expired: map[string]bool{}}
	t := time.NewTicker(certCheckInterval)
	defer t.Stop()
	for {
		a.checkCerts(seen, time.Now())
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.certCheck:
		}
	}
}
