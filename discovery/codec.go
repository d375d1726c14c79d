package discovery

import (
	"encoding/binary"
	"fmt"
)

// Wire format (version 1). Every message and the node metadata start with a
// version byte; a receiver ignores versions it does not know. Integers are
// unsigned varints, strings are a varint length followed by the bytes.
//
//	meta:    version | flags | gen | tunnel_addr   (flags bit 0: leaving)
//	message: version | type | body
//	  chunk  body: node | gen | tunnel_addr | gossip_addr | index | total | n | n × workload
//	  state  body: n | n × (node | gen | tunnel_addr | gossip_addr | m | m × workload)
//	  pull   body: from | node | gen
//	  leave  body: node | gen
//	workload:    id | k | k × port
//
// A chunk carries part of one node's catalog; a catalog is complete when all
// `total` chunks of the same generation have arrived. A generation only grows
// (it starts at the process start time in nanoseconds, so a restarted node
// supersedes its old catalog).
const (
	wireVersion byte = 1

	msgChunk byte = 1 // part of one node's catalog (broadcast or pull reply)
	msgState byte = 2 // push-pull: every catalog the sender holds
	msgPull  byte = 3 // "send me your catalog": a TCP repair request
	msgLeave byte = 4 // "I am leaving gracefully" (see Gossip.Leave)
)

// Wire limits. Decoders refuse anything beyond them before allocating.
const (
	maxNodeName     = 256
	maxAddrLen      = 255
	maxIDLen        = 2048 // the SPIFFE ID length limit
	maxPorts        = 64   // ports per workload
	maxWorkloads    = 4096 // workloads per node
	maxChunks       = 4096
	maxStateNodes   = 8192
	maxMessageBytes = 32 << 20
	// maxJoinState bounds the catalogs sent to a joining member; memberlist
	// refuses push-pull states over 20 MiB. What is left out is repaired by
	// pulls.
	maxJoinState = 8 << 20
	// maxMetaBytes is memberlist's node metadata limit (it panics above).
	maxMetaBytes = 512
	// chunkBudget bounds a broadcast chunk so it fits a gossip UDP packet
	// (1400 bytes) with memberlist's compound, label and encryption overhead.
	chunkBudget = 1000
)

// catalog is one node's announcement: where its tunnel is and what it serves.
type catalog struct {
	Node       string
	Gen        uint64
	TunnelAddr string
	// GossipAddr lets a member that holds the catalog of a node memberlist
	// has not told it about join that node directly (see reconcile).
	GossipAddr string
	Workloads  []Workload
}

// chunk is part Index of Total of a node's catalog of generation Gen.
type chunk struct {
	catalog
	Index, Total int
}

// pullRequest asks Node to send its whole catalog to From over TCP.
type pullRequest struct {
	From string
	Node string
	Gen  uint64 // the generation the requester saw in Node's metadata
}

// leaveNotice says Node (at catalog generation Gen) leaves gracefully.
type leaveNotice struct {
	Node string
	Gen  uint64
}

// nodeMeta is the fixed header kept in memberlist node metadata.
type nodeMeta struct {
	Leaving    bool // set by Leave just before memberlist's leave message
	Gen        uint64
	TunnelAddr string
}

const metaLeaving byte = 1 << 0

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendWorkload(b []byte, w Workload) []byte {
	b = appendString(b, w.ID)
	b = binary.AppendUvarint(b, uint64(len(w.Ports)))
	for _, p := range w.Ports {
		b = binary.AppendUvarint(b, uint64(p))
	}
	return b
}

func appendCatalogBody(b []byte, c catalog) []byte {
	b = appendString(b, c.Node)
	b = binary.AppendUvarint(b, c.Gen)
	b = appendString(b, c.TunnelAddr)
	b = appendString(b, c.GossipAddr)
	b = binary.AppendUvarint(b, uint64(len(c.Workloads)))
	for _, w := range c.Workloads {
		b = appendWorkload(b, w)
	}
	return b
}

func encodeMeta(m nodeMeta) ([]byte, error) {
	var flags byte
	if m.Leaving {
		flags |= metaLeaving
	}
	b := []byte{wireVersion, flags}
	b = binary.AppendUvarint(b, m.Gen)
	b = appendString(b, m.TunnelAddr)
	if len(b) > maxMetaBytes {
		return nil, fmt.Errorf("%w: node metadata is %d bytes, limit %d", ErrTooLarge, len(b), maxMetaBytes)
	}
	return b, nil
}

func encodeChunk(c chunk) []byte {
	b := []byte{wireVersion, msgChunk}
	b = appendString(b, c.Node)
	b = binary.AppendUvarint(b, c.Gen)
	b = appendString(b, c.TunnelAddr)
	b = appendString(b, c.GossipAddr)
	b = binary.AppendUvarint(b, uint64(c.Index))
	b = binary.AppendUvarint(b, uint64(c.Total))
	b = binary.AppendUvarint(b, uint64(len(c.Workloads)))
	for _, w := range c.Workloads {
		b = appendWorkload(b, w)
	}
	return b
}

func encodeState(cs []catalog) []byte { return encodeStateLimit(cs, maxMessageBytes) }

// encodeStateLimit encodes the catalogs in order, stopping before the one
// that would take the body past limit bytes (the first is always included).
func encodeStateLimit(cs []catalog, limit int) []byte {
	var body []byte
	n := 0
	for _, c := range cs {
		next := appendCatalogBody(body, c)
		if n > 0 && len(next) > limit {
			break
		}
		body, n = next, n+1
	}
	b := []byte{wireVersion, msgState}
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, body...)
}

func encodePull(p pullRequest) []byte {
	b := []byte{wireVersion, msgPull}
	b = appendString(b, p.From)
	b = appendString(b, p.Node)
	return binary.AppendUvarint(b, p.Gen)
}

func encodeLeave(l leaveNotice) []byte {
	b := []byte{wireVersion, msgLeave}
	b = appendString(b, l.Node)
	return binary.AppendUvarint(b, l.Gen)
}

// splitCatalog cuts c into chunks whose encoding stays under budget bytes
// where possible (a single oversized workload gets a chunk of its own; such a
// chunk never fits a UDP packet and reaches peers by push-pull or pull).
func splitCatalog(c catalog, budget int) []chunk {
	head := len(encodeChunk(chunk{catalog: catalog{Node: c.Node, Gen: c.Gen, TunnelAddr: c.TunnelAddr, GossipAddr: c.GossipAddr}, Index: maxChunks, Total: maxChunks})) + binary.MaxVarintLen16
	var parts [][]Workload
	var cur []Workload
	size := head
	for _, w := range c.Workloads {
		n := len(appendWorkload(nil, w))
		if len(cur) > 0 && size+n > budget {
			parts = append(parts, cur)
			cur, size = nil, head
		}
		cur = append(cur, w)
		size += n
	}
	if len(cur) > 0 || len(parts) == 0 {
		parts = append(parts, cur)
	}
	out := make([]chunk, len(parts))
	for i, p := range parts {
		out[i] = chunk{catalog: catalog{Node: c.Node, Gen: c.Gen, TunnelAddr: c.TunnelAddr, GossipAddr: c.GossipAddr, Workloads: p}, Index: i, Total: len(parts)}
	}
	return out
}
