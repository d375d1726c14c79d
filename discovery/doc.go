// Package discovery answers "where does workload X live": it maps a workload
// ID (a SPIFFE ID) to the tunnel addresses (host:port) of the hosts that serve
// it, best first.
//
// It owns two sources of that answer:
//
//   - Static: the config file's `peer` blocks, swapped atomically on reload.
//   - Gossip: a hashicorp/memberlist cluster in which every agent announces
//     its tunnel address and the workloads it serves. Node metadata carries
//     only a small fixed header (format version, flags, generation, tunnel
//     address; memberlist panics above 512 bytes); the workload catalog
//     travels in versioned, size-checked messages through the memberlist
//     delegate: chunk broadcasts that every member gossips on, the full
//     state for joiners, and a TCP pull when a member's metadata generation
//     is ahead of the catalog we hold. Resolve reads an atomic snapshot.
//
// Beyond memberlist it also: keeps joining its seeds and a few members it
// holds dead (partitions and false failures heal in one RejoinInterval),
// joins members it knows only from their catalog, and announces a graceful
// Leave itself (memberlist reports a leave exactly like a failure).
// memberlist does not expose suspicion, so members are alive, dead or left.
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
