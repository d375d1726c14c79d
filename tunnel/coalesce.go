package tunnel

import (
	"encoding/binary"
	"net"
	"sync"
)

// yamux frame header layout (yamux spec.md): version u8, type u8, flags
// u16, stream ID u32, length u32.
const (
	yamuxHeaderLen = 12
	yamuxTypeData  = 0
)

// maxCoalesceBody is the largest data-frame body copied next to its header
// so that both go in one TLS record: a header plus this fills one record.
// A larger body fills whole records anyway, and copying it costs more than
// the header's own small record.
const maxCoalesceBody = 16<<10 - yamuxHeaderLen

var coalescePool = sync.Pool{New: func() any {
	b := make([]byte, 0, yamuxHeaderLen+maxCoalesceBody)
	return &b
}}

// coalesceConn sits between yamux and crypto/tls and makes each yamux
// frame leave in one write syscall. yamux v0.1.2's send loop writes a
// frame's header and its body with two Write calls, which over plain TLS
// costs two records and two syscalls, and crypto/tls writes every record
// (at most 16 KiB) with its own syscall.
//
//   - A small data frame's header is held back and sent with its body in
//     one record (yamux's send loop always writes that body next, so
//     nothing waits).
//   - A large one is corked: its header record and the body's records are
//     gathered under TLS (corkConn) and flushed together.
//
// yamux writes from one goroutine only; mu guards against any other
// writer anyway.
type coalesceConn struct {
	net.Conn
	mu sync.Mutex
	// pending: buf (pooled) holds a small frame's header, waiting for its
	// body.
	pending bool
	buf     *[]byte
	// corked: a large frame's header went into cork, its body is next.
	corked bool
	// cork, when set, is the corkConn under Conn's TLS.
	cork *corkConn
}

// dataBodyLen returns the body length p announces when p is a yamux data
// header with a body, or 0.
func dataBodyLen(p []byte) int {
	if len(p) != yamuxHeaderLen || p[1] != yamuxTypeData {
		return 0
	}
	return int(binary.BigEndian.Uint32(p[8:12]))
}

// write sends p through TLS, corked so its records go out together.
func (c *coalesceConn) write(p []byte) (int, error) {
	if c.cork == nil {
		return c.Conn.Write(p)
	}
	c.cork.cork()
	n, err := c.Conn.Write(p)
	if ferr := c.cork.flush(); err == nil && ferr != nil {
		return 0, ferr
	}
	return n, err
}

func (c *coalesceConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.pending:
		c.pending = false
		*c.buf = append(*c.buf, p...)
		n, err := c.write(*c.buf)
		if cap(*c.buf) <= yamuxHeaderLen+maxCoalesceBody {
			coalescePool.Put(c.buf)
		}
		c.buf = nil
		return max(n-yamuxHeaderLen, 0), err
	case c.corked:
		c.corked = false
		n, err := c.Conn.Write(p)
		if ferr := c.cork.flush(); err == nil && ferr != nil {
			return 0, ferr
		}
		return n, err
	}
	switch body := dataBodyLen(p); {
	case body == 0:
		return c.Conn.Write(p) // a header alone is one small record: one write
	case body <= maxCoalesceBody || c.cork == nil:
		c.buf = coalescePool.Get().(*[]byte)
		*c.buf = append((*c.buf)[:0], p...)
		c.pending = true
		return len(p), nil
	default:
		c.cork.cork()
		c.corked = true
		if _, err := c.Conn.Write(p); err != nil {
			c.corked = false
			c.cork.flush()
			return 0, err
		}
		return len(p), nil
	}
}
