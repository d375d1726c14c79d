package tunnel

import (
	"net"
	"sync"
)

// corkConn sits between crypto/tls and the TCP socket. crypto/tls writes
// each record (at most 16 KiB of data) with its own Write, so a 32 KiB yamux
// frame costs two write syscalls, plus one for a header written apart. While
// corked, corkConn gathers those records and flush sends them in one
// syscall: coalesceConn corks around every frame it writes. Syscalls were
// the largest cost in the benchmark's profiles (55-60% of the agents' CPU).
//
// Only yamux's send loop writes to a session's TLS conn, and the TLS
// handshake completes before yamux starts, so corking never delays a
// handshake message. mu guards against any other writer anyway.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

// maxCorkBuf bounds the buffer kept between frames: a larger one, grown by
// a large frame, is dropped so an idle session pins no memory.
const maxCorkBuf = 64 << 10

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// flush uncorks and writes what was gathered.
func (c *corkConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > maxCorkBuf {
		c.buf = nil
	}
	return err
}
