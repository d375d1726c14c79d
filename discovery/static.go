package discovery

import (
	"slices"
	"sync/atomic"
)

// Resolver finds the tunnel addresses (host:port) of the hosts serving a
// workload ID, best first. It is the shape of the tunnel's resolver
// interface. Implementations are safe for concurrent use and cheap: they are
// called once per new connection.
type Resolver interface {
	Resolve(target string) []string
}

// Peer is a static `peer` block: a host and the workloads it serves.
type Peer struct {
	Name      string
	Address   string   // tunnel host:port
	Workloads []string // workload IDs served there
}

// Static resolves from a fixed list of peers. Set replaces the list
// atomically (config reload); Resolve never blocks.
type Static struct {
	table atomic.Pointer[map[string][]string]
}

// NewStatic returns a Static resolver for peers.
func NewStatic(peers []Peer) *Static {
	s := &Static{}
	s.Set(peers)
	return s
}

// Set replaces the peer list. Addresses for one workload keep the order of
// the peers; a duplicate address is listed once.
func (s *Static) Set(peers []Peer) {
	t := make(map[string][]string)
	for _, p := range peers {
		if p.Address == "" {
			continue
		}
		for _, id := range p.Workloads {
			if !slices.Contains(t[id], p.Address) {
				t[id] = append(t[id], p.Address)
			}
		}
	}
	s.table.Store(&t)
}

// Resolve returns the addresses of the peers serving target, in config
// order, or nil. The caller owns the returned slice.
func (s *Static) Resolve(target string) []string {
	t := s.table.Load()
	if t == nil {
		return nil
	}
	return slices.Clone((*t)[target])
}

type multi []Resolver

// Multi merges resolvers: the addresses of the first come first, then those
// of the next that are not already listed, and so on. Nil resolvers are
// skipped.
func Multi(rs ...Resolver) Resolver {
	m := make(multi, 0, len(rs))
	for _, r := range rs {
		if r != nil {
			m = append(m, r)
		}
	}
	return m
}

func (m multi) Resolve(target string) []string {
	var out []string
	for _, r := range m {
		for _, a := range r.Resolve(target) {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}
