package tunnel

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// countConn counts the writes that reach the socket.
type countConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// yamuxFrame returns a header announcing a body of n bytes of type typ,
// and the body.
func yamuxFrame(typ byte, n int) (hdr, body []byte) {
	hdr = make([]byte, yamuxHeaderLen)
	hdr[0], hdr[1] = 0, typ
	binary.BigEndian.PutUint32(hdr[4:8], 7)
	binary.BigEndian.PutUint32(hdr[8:12], uint32(n))
	if typ == yamuxTypeData {
		body = make([]byte, n)
		for i := range body {
			body[i] = byte(i*31 + n)
		}
	}
	return hdr, body
}

// TestCoalesceOneSyscallPerFrame writes frames the way yamux's send loop
// does (header, then body) through coalesceConn over real TLS and checks
// that each frame costs one write on the socket and that the peer reads
// exactly the bytes written, in order.
func TestCoalesceOneSyscallPerFrame(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	leaf := ca.Issue(t, idPay)
	ln := listen(t)
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS13})
		b, _ := io.ReadAll(s)
		got <- b
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	counted := &countConn{Conn: raw}
	ck := &corkConn{Conn: counted}
	tc := tls.Client(ck, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cc := &coalesceConn{Conn: tc, cork: ck}

	cases := []struct {
		name   string
		typ    byte
		n      int
		writes int64 // socket writes the frame may cost
	}{
		{"small data", yamuxTypeData, 64, 1},
		{"one record", yamuxTypeData, maxCoalesceBody, 1},
		{"just over one record", yamuxTypeData, maxCoalesceBody + 1, 1},
		{"full frame", yamuxTypeData, bigBuf, 1},
		{"window update", 1, 0, 1},
		{"empty data (FIN)", yamuxTypeData, 0, 1},
		{"small after large", yamuxTypeData, 100, 1},
	}
	var want bytes.Buffer
	for _, c := range cases {
		hdr, body := yamuxFrame(c.typ, c.n)
		before := counted.writes.Load()
		if n, err := cc.Write(hdr); err != nil || n != len(hdr) {
			t.Fatalf("%s: header write = %d, %v", c.name, n, err)
		}
		if body != nil {
			if n, err := cc.Write(body); err != nil || n != len(body) {
				t.Fatalf("%s: body write = %d, %v", c.name, n, err)
			}
		}
		if w := counted.writes.Load() - before; w != c.writes {
			t.Errorf("%s: %d socket writes, want %d", c.name, w, c.writes)
		}
		want.Write(hdr)
		want.Write(body)
	}
	if ck.buf != nil || cc.buf != nil {
		t.Error("a pooled buffer is still held after the last frame")
	}
	tc.Close()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatalf("peer read %d bytes that differ from the %d written", len(b), want.Len())
	}
}
