package agent

import (
	"os"
	"strings"
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
	// advertised lists the workload IDs gossip was last told about with a
	// usable certificate, to re-announce when one expires.
	advertised string
}

// certUsable reports whether local workload id holds a certificate peers
// accept: loaded, within its validity, not revoked.
func (a *Agent) certUsable(id string) bool {
	c := a.store.Load().Current(id)
	return c != nil && certState(c, time.Now()) == "valid"
}

// updateGossip re-announces the served workloads when the set with a usable
// certificate changed (one expired, was revoked, or was renewed).
func (a *Agent) updateGossip(seen *certWarnings) {
	if a.gossip == nil {
		return
	}
	cfg := a.cfg.Load()
	ws := localWorkloads(cfg, a.certUsable)
	var key strings.Builder
	for _, w := range ws {
		key.WriteString(w.ID + " ")
	}
	if seen.advertised == "" {
		// First look: gossip started with every workload (a start with an
		// unusable certificate fails), so only a difference is news.
		for _, w := range localWorkloads(cfg, nil) {
			seen.advertised += w.ID + " "
		}
	}
	if key.String() == seen.advertised {
		return
	}
	if err := a.gossip.SetLocal(advertisedTunnel(cfg, a.tun.Addr()), ws); err != nil {
		a.log.Warn("gossip catalog not updated", "error", err)
		return
	}
	a.log.Info("gossip catalog updated for certificate state", "workloads", len(ws))
	seen.advertised = key.String()
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
		// Lifetime is counted from when the certificate was stored, when
		// that is later than NotBefore: CAs (ours included) back-date
		// NotBefore for clock skew, which would put two thirds of a
		// short-lived certificate's life in the past at once.
		start := c.NotBefore
		if fi, err := os.Stat(w.Cert); err == nil && fi.ModTime().After(start) && !fi.ModTime().After(now) {
			start = fi.ModTime()
		}
		life := c.NotAfter.Sub(start)
		switch {
		case now.After(c.NotAfter):
			if !seen.expired[c.Serial] {
				seen.expired[c.Serial] = true
				a.log.Error("workload certificate expired: peers refuse it until a valid one is loaded",
					"workload", w.Name, "id", w.ID, "serial", c.Serial, "not_after", c.NotAfter.UTC())
			}
		case now.After(start.Add(life * 2 / 3)):
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
		a.updateGossip(seen)
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.certCheck:
		}
	}
}
