package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/enroll"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

// Status is the document of GET /v1/status; `ztunnel status` prints it.
type Status struct {
	Node          string           `json:"node"`
	Version       string           `json:"version"`
	StartedAt     time.Time        `json:"started_at"`
	UptimeSeconds int64            `json:"uptime_seconds"`
	Ready         bool             `json:"ready"`
	NotReady      string           `json:"not_ready,omitempty"`
	Workloads     []WorkloadStatus `json:"workloads"`
	Peers         []PeerStatus     `json:"peers"`
	Policy        PolicyStatus     `json:"policy"`
	LastReload    *ReloadStatus    `json:"last_reload,omitempty"`
	Tunnels       tunnel.Status    `json:"tunnels"`
	Identity      any              `json:"identity"`
}

// WorkloadStatus is one local workload in Status.
type WorkloadStatus struct {
	Name             string    `json:"name"`
	ID               string    `json:"id"`
	Serial           string    `json:"serial,omitempty"`
	NotAfter         time.Time `json:"not_after"`
	ExpiresInSeconds int64     `json:"expires_in_seconds"`
	State            string    `json:"state"` // valid | revoked | expired | not_yet_valid | missing
	Pin              string    `json:"pin,omitempty"`
	Upstreams        []string  `json:"upstreams,omitempty"` // "name listen -> target"
	Exposes          []string  `json:"exposes,omitempty"`   // "port -> backend"
	// Enroll is the renewal state of a workload whose certificate comes
	// from the CA server.
	Enroll *enroll.Status `json:"enroll,omitempty"`
}

// PolicyStatus is the policy in force.
type PolicyStatus struct {
	File     string    `json:"file"`
	Version  string    `json:"version"`
	Rules    int       `json:"rules"`
	LoadedAt time.Time `json:"loaded_at"`
}

// Status builds the status document.
func (a *Agent) Status() Status {
	cfg := a.cfg.Load()
	now := time.Now()
	st := Status{
		Node:          cfg.NodeName,
		Version:       a.opts.Version,
		StartedAt:     a.started.UTC(),
		UptimeSeconds: int64(now.Sub(a.started).Seconds()),
		LastReload:    a.lastReload.Load(),
	}
	if err := a.Ready(); err != nil {
		st.NotReady = err.Error()
	} else {
		st.Ready = true
	}
	store := a.store.Load()
	for _, w := range cfg.Workloads {
		ws := WorkloadStatus{Name: w.Name, ID: w.ID, State: "missing", Enroll: a.enrollStatus(w.Name)}
		if store != nil {
			if c := store.Current(w.ID); c != nil {
				ws.Serial, ws.NotAfter, ws.Pin = c.Serial, c.NotAfter.UTC(), c.Pin
				ws.ExpiresInSeconds = int64(c.NotAfter.Sub(now).Seconds())
				ws.State = certState(c, now)
			}
		}
		for _, u := range w.Upstreams {
			ws.Upstreams = append(ws.Upstreams, fmt.Sprintf("%s %s -> %s", u.Name, u.Listen, u.Target))
		}
		for _, e := range w.Expose {
			ws.Exposes = append(ws.Exposes, fmt.Sprintf("%d -> %s", e.Port, e.Backend))
		}
		st.Workloads = append(st.Workloads, ws)
	}
	st.Peers = a.peerStatus(cfg)
	if p := a.policy.Load(); p != nil {
		st.Policy = PolicyStatus{File: p.Source(), Version: p.Version(), Rules: len(p.Rules())}
		if at := a.policyAt.Load(); at != nil {
			st.Policy.LoadedAt = at.UTC()
		}
	}
	if a.tun != nil {
		st.Tunnels = a.tun.Status()
	}
	if store != nil {
		st.Identity = store.Status()
	}
	return st
}

func certState(c *identity.Certificate, now time.Time) string {
	switch {
	case c.Revoked:
		return "revoked"
	case now.After(c.NotAfter):
		return "expired"
	case now.Before(c.NotBefore):
		return "not_yet_valid"
	}
	return "valid"
}

// Ready returns nil when the agent serves traffic: started, not draining,
// and every workload holding a currently valid certificate.
func (a *Agent) Ready() error {
	if !a.ready.Load() {
		return errors.New("agent is starting or draining")
	}
	store := a.store.Load()
	now := time.Now()
	for _, w := range a.cfg.Load().Workloads {
		c := store.Current(w.ID)
		if c == nil {
			return fmt.Errorf("workload %q has no certificate", w.Name)
		}
		if s := certState(c, now); s != "valid" {
			return fmt.Errorf("workload %q certificate is %s (not after %s)", w.Name, s, c.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// backend adapts the agent to admin.Backend.
type backend struct{ a *Agent }

func (b backend) Status() any  { return b.a.Status() }
func (b backend) Tunnels() any { return b.a.tun.Status() }
func (b backend) Members() any {
	if b.a.gossip == nil {
		return []any{}
	}
	return b.a.gossip.Members()
}
func (b backend) Ready() error  { return b.a.Ready() }
func (b backend) Reload() error { return b.a.Reload("api") }
