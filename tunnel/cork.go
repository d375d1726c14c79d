package tunnel

import (
	"net"
	"sync"
)

// corkConn sits between crypto/tls and the TCP socket. crypto/tls writes
// each record (at most 16 KiB of data) with its own Write, so a 256 KiB
// yamux frame would cost 17 write syscalls. While corked, corkConn gathers
// the records and flush sends them in one syscall: coalesceConn corks
// around every frame it writes. Syscalls were the largest cost in the
// benchmark's profiles (55-60% of the agents' CPU).
//
// The gathering buffer is pooled and held only from the first corked write
// to the flush, so an idle session pins none.
//
// Only yamux's send loop writes to a session's TLS conn, and the TLS
// handshake completes before yamux starts, so corking never delays a
// handshake message. mu guards against any other writer anyway.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

// corkBufSize fits the largest frame we write (bigBuf plus header) with
// its TLS record overhead (22 bytes per 16 KiB record).
const corkBufSize = bigBuf + 32<<10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, corkBufSize); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		if c.buf == nil {
			c.buf = corkPool.Get().(*[]byte)
		}
		*c.buf = append(*c.buf, p...)
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
	if c.buf == nil {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	if cap(*c.buf) <= corkBufSize {
		*c.buf = (*c.buf)[:0]
		corkPool.Put(c.buf)
	}
	c.buf = nil
	return err
}
