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

// coalesceConn merges each yamux data-frame header with the body that
// follows it into one Write. yamux v0.1.2's send loop writes a frame's
// header and its body with two Write calls, which over TLS costs two
// records and two syscalls per frame; this halves both. Only a data header
// announcing a non-empty body is held back, and yamux's send loop always
// writes that body next, so nothing waits. yamux writes from one goroutine
// only; mu guards against any other writer anyway.
type coalesceConn struct {
	net.Conn
	mu      sync.Mutex
	pending bool
	buf     []byte
	// cork, when set, is the corkConn under Conn's TLS: each frame's TLS
	// records then leave in one syscall.
	cork *corkConn
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
	if !c.pending && len(p) == yamuxHeaderLen && p[1] == yamuxTypeData &&
		binary.BigEndian.Uint32(p[8:12]) > 0 {
		c.buf = append(c.buf[:0], p...)
		c.pending = true
		return len(p), nil
	}
	if !c.pending {
		return c.write(p)
	}
	c.pending = false
	c.buf = append(c.buf, p...)
	n, err := c.write(c.buf)
	if cap(c.buf) > 256<<10 {
		c.buf = nil // do not pin a large buffer for an idle session
	}
	return max(n-yamuxHeaderLen, 0), err
}
