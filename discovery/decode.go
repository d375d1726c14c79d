package discovery

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// reader decodes the wire format; the first error sticks and later reads
// return zero values, so decoders check r.err once at the end.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uint reads a varint and checks it is at most max.
func (r *reader) uint(max uint64, what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint for %s", what)
		return 0
	}
	r.b = r.b[n:]
	if v > max {
		r.fail("%s %d exceeds limit %d", what, v, max)
		return 0
	}
	return v
}

func (r *reader) string(max int, what string) string {
	n := int(r.uint(uint64(max), what+" length"))
	if r.err != nil {
		return ""
	}
	if len(r.b) < n {
		r.fail("truncated %s", what)
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) workload() Workload {
	w := Workload{ID: r.string(maxIDLen, "workload id")}
	if r.err == nil && w.ID == "" {
		r.fail("empty workload id")
	}
	n := int(r.uint(maxPorts, "port count"))
	if n > 0 && r.err == nil {
		w.Ports = make([]int, 0, min(n, len(r.b)))
		for range n {
			p := int(r.uint(65535, "port"))
			if r.err == nil && p == 0 {
				r.fail("port 0")
			}
			w.Ports = append(w.Ports, p)
		}
	}
	return w
}

// workloads reads a count and that many workloads. Capacity is bounded by
// the bytes left (each workload takes at least two), so a lying count cannot
// make us allocate much.
func (r *reader) workloads() []Workload {
	n := int(r.uint(maxWorkloads, "workload count"))
	if n == 0 || r.err != nil {
		return nil
	}
	ws := make([]Workload, 0, min(n, len(r.b)/2))
	for range n {
		ws = append(ws, r.workload())
		if r.err != nil {
			return nil
		}
	}
	return ws
}

func (r *reader) catalogHead() catalog {
	var c catalog
	c.Node = r.string(maxNodeName, "node name")
	if r.err == nil && c.Node == "" {
		r.fail("empty node name")
	}
	c.Gen = r.uint(^uint64(0), "generation")
	c.TunnelAddr = r.string(maxAddrLen, "tunnel address")
	c.GossipAddr = r.string(maxAddrLen, "gossip address")
	// Members join each other by it (reconcile): an honest node sends the
	// ip:port memberlist bound, never a name to look up.
	if r.err == nil && c.GossipAddr != "" {
		if _, err := netip.ParseAddrPort(c.GossipAddr); err != nil {
			r.fail("gossip address %q is not ip:port", c.GossipAddr)
		}
	}
	return c
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

func checkVersion(r *reader) {
	if v := r.byte(); r.err == nil && v != wireVersion {
		r.err = fmt.Errorf("%w %d", ErrUnknownVersion, v)
	}
}

func decodeMeta(b []byte) (nodeMeta, error) {
	if len(b) > maxMetaBytes {
		return nodeMeta{}, fmt.Errorf("%w: node metadata is %d bytes", ErrTooLarge, len(b))
	}
	r := &reader{b: b}
	checkVersion(r)
	flags := r.byte()
	if r.err == nil && flags&^metaLeaving != 0 {
		r.fail("unknown metadata flags %#x", flags)
	}
	m := nodeMeta{Leaving: flags&metaLeaving != 0}
	m.Gen = r.uint(^uint64(0), "generation")
	m.TunnelAddr = r.string(maxAddrLen, "tunnel address")
	if err := r.end(); err != nil {
		return nodeMeta{}, err
	}
	return m, nil
}

// message is one decoded gossip message; exactly one field is set.
type message struct {
	Chunk *chunk
	State []catalog
	Pull  *pullRequest
	Leave *leaveNotice
}

func decodeMessage(b []byte) (message, error) {
	if len(b) > maxMessageBytes {
		return message{}, fmt.Errorf("%w: message is %d bytes", ErrTooLarge, len(b))
	}
	r := &reader{b: b}
	checkVersion(r)
	typ := r.byte()
	var m message
	switch {
	case r.err != nil:
	case typ == msgChunk:
		c := chunk{catalog: r.catalogHead()}
		c.Index = int(r.uint(maxChunks-1, "chunk index"))
		c.Total = int(r.uint(maxChunks, "chunk total"))
		if r.err == nil && c.Index >= c.Total {
			r.fail("chunk %d of %d", c.Index, c.Total)
		}
		c.Workloads = r.workloads()
		m.Chunk = &c
	case typ == msgState:
		n := int(r.uint(maxStateNodes, "node count"))
		m.State = make([]catalog, 0, min(n, len(r.b)/4))
		for range n {
			c := r.catalogHead()
			c.Workloads = r.workloads()
			if r.err != nil {
				break
			}
			m.State = append(m.State, c)
		}
	case typ == msgPull:
		p := pullRequest{From: r.string(maxNodeName, "from"), Node: r.string(maxNodeName, "node name")}
		p.Gen = r.uint(^uint64(0), "generation")
		m.Pull = &p
	case typ == msgLeave:
		l := leaveNotice{Node: r.string(maxNodeName, "node name")}
		if r.err == nil && l.Node == "" {
			r.fail("empty node name")
		}
		l.Gen = r.uint(^uint64(0), "generation")
		m.Leave = &l
	default:
		r.fail("unknown message type %d", typ)
	}
	if err := r.end(); err != nil {
		return message{}, err
	}
	return m, nil
}
