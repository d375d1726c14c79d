// Package discovery answers "where does workload X live": it maps a workload
// ID (a SPIFFE ID) to the tunnel addresses (host:port) of the hosts that serve
// it, best first.
//
// It owns two sources of that answer:
//
//   - Static: the config file's `peer` blocks, swapped atomically on reload.
//   - Gossip: a hashicorp/memberlist cluster in which every agent announces
//     its tunnel address and the workloads it serves. Node metadata carries
//     only a small fixed header (format version, generation, tunnel address);
//     the workload catalog travels in versioned, size-checked messages through
//     the memberlist delegate (broadcast chunks, push-pull state and a
//     TCP pull when a member's generation is ahead of what we hold).
//
// Multi merges several sources for the tunnel, whose resolver interface is
// Resolve(target string) []string.
//
// What it does NOT own: identity. Gossip only says WHERE a workload might
// live; every dial verifies the exact target ID with certificates, so a
// member that lies about its catalog gains nothing beyond a failed dial.
// Members holding the gossip key are trusted for availability only.
// The package is a leaf: it imports no other package of this module.
package discovery
