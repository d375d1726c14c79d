package agent

import (
	"sort"

	"github.com/ztunnel-dev/ztunnel/config"
)

// PeerStatus is one remote agent this one may tunnel to, in Status: a
// static peer block, or a gossip member other than this node.
type PeerStatus struct {
	Name    string `json:"name"`
	Address string `json:"address"` // its tunnel host:port
	Source  string `json:"source"`  // static | gossip
	// State is the gossip member's state (alive, suspect, dead, left), or
	// "configured" for a static peer.
	State     string   `json:"state"`
	Workloads []string `json:"workloads"` // IDs it serves
}

// peerStatus lists the static peers of cfg, then the gossip members
// (without this node), each sorted by name.
func (a *Agent) peerStatus(cfg *config.Config) []PeerStatus {
	out := []PeerStatus{}
	for _, p := range cfg.Peers {
		out = append(out, PeerStatus{Name: p.Name, Address: p.Address, Source: "static", State: "configured",
			Workloads: append([]string(nil), p.Workloads...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if a.gossip == nil {
		return out
	}
	var members []PeerStatus
	for _, m := range a.gossip.Members() {
		if m.Self {
			continue
		}
		ps := PeerStatus{Name: m.Name, Address: m.TunnelAddr, Source: "gossip", State: m.State, Workloads: []string{}}
		for _, w := range m.Workloads {
			ps.Workloads = append(ps.Workloads, w.ID)
		}
		members = append(members, ps)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	return append(out, members...)
}
