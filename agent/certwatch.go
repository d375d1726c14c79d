package agent

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
)

// certCheckInterval is how often the agent looks at its own certificates'
// lifetimes.
const certCheckInterval = 30 * time.Second

// certWarnings remembers which serials were already warned about, so each
// certificate produces one warning at two thirds of its life and one error
// at expiry, not one per check.
type certWarnings struct {
	// workload ID -> the serial last warned about: one entry per
	// workload, however many certificates it goes through.
	aging, expired map[string]string
}

// certUsable reports whether local workload id holds a certificate peers
// accept: loaded, within its validity, not revoked.
func (a *Agent) certUsable(id string) bool {
	c := a.store.Load().Current(id)
	return c != nil && certState(c, time.Now()) == "valid"
}

// announcement is what announce compares: the tunnel address and the
// served workload IDs with their ports.
func announcement(tunnelAddr string, ws []discovery.Workload) string {
	var b strings.Builder
	b.WriteString(tunnelAddr)
	for _, w := range ws {
		fmt.Fprintf(&b, " %s%v", w.ID, w.Ports)
	}
	return b.String()
}

// announce tells gossip what this node serves under cfg, leaving out the
// workloads without a usable certificate, when that differs from what it
// last told. Reloads and the certificate watch (a certificate expired, was
// revoked or renewed) both call it; the mutex keeps an older view from
// overwriting a newer one.
func (a *Agent) announce(cfg *config.Config) error {
	if a.gossip == nil {
		return nil
	}
	a.announceMu.Lock()
	defer a.announceMu.Unlock()
	addr, ws := advertisedTunnel(cfg, a.tun.Addr()), localWorkloads(cfg, a.certUsable)
	now := announcement(addr, ws)
	if now == a.announced {
		return nil
	}
	if err := a.gossip.SetLocal(addr, ws); err != nil {
		return fmt.Errorf("gossip catalog not updated: %w", err)
	}
	a.announced = now
	a.log.Info("gossip catalog announced", "workloads", len(ws))
	return nil
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
			if seen.expired[w.ID] != c.Serial {
				seen.expired[w.ID] = c.Serial
				a.log.Error("workload certificate expired: peers refuse it until a valid one is loaded",
					"workload", w.Name, "id", w.ID, "serial", c.Serial, "not_after", c.NotAfter.UTC())
			}
		case now.After(start.Add(life * 2 / 3)):
			if seen.aging[w.ID] != c.Serial {
				seen.aging[w.ID] = c.Serial
				a.log.Warn("workload certificate past two thirds of its lifetime: renew it",
					"workload", w.Name, "id", w.ID, "serial", c.Serial, "not_after", c.NotAfter.UTC(),
					"left", c.NotAfter.Sub(now).Round(time.Second))
			}
		}
	}
}

func (a *Agent) watchCerts() {
	defer a.wg.Done()
	seen := &certWarnings{aging: map[string]string{}, expired: map[string]string{}}
	t := time.NewTicker(certCheckInterval)
	defer t.Stop()
	for {
		a.checkCerts(seen, time.Now())
		if err := a.announce(a.cfg.Load()); err != nil {
			a.log.Warn(err.Error())
		}
		select {
		case <-a.stop:
			return
		case <-t.C:
		case <-a.certCheck:
		}
	}
}
