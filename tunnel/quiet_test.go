package tunnel

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// blackhole forwards TCP to target until it is cut; then it stops moving
// bytes but closes nothing, like a peer that lost power or a partition
// that drops packets.
type blackhole struct {
	addr string
	dead atomic.Bool
}

func newBlackhole(tb testing.TB, target string) *blackhole {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	tb.Cleanup(func() { close(done); ln.Close() })
	b := &blackhole{addr: ln.Addr().String()}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if b.dead.Load() {
				<-done // hold everything open, forward nothing
				return
			}
			if n > 0 {
				dst.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			tb.Cleanup(func() { c.Close(); up.Close() })
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return b
}

// TestQuietSessionToDeadPeerFailsOver: once a peer goes silent, a new
// connection does not wait on its pooled session (HandshakeTimeout is 30s
// here) but is moved to the other instance after an unanswered ping.
func TestQuietSessionToDeadPeerFailsOver(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: func(c *Config) {
		c.HandshakeTimeout = 30 * time.Second
	}})
	other := DefaultConfig()
	other.Listen = "127.0.0.1:0"
	other.Exposes = []Expose{{Workload: idPay, Port: payPort, Backend: serve(t, echo)}}
	other.TLS = newStore(t, e.ca, []*identitytest.CA{e.ca}, idPay)
	other.Authorize = newSwitchPolicy(true, "allow-all").authorize
	second := startTunnel(t, other)
	bh := newBlackhole(t, e.server.Addr().String())
	e.resolver.set(bh.addr, second.Addr().String())

	send := func(i int) error {
		c, err := net.DialTimeout("tcp", e.upstream, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		if err == nil && string(b) != "ping" {
			t.Errorf("connection %d: echoed %q", i, b)
		}
		return err
	}
	for i := range 4 { // sessions to both endpoints
		if err := send(i); err != nil {
			t.Fatalf("warm-up %d: %v", i, err)
		}
	}
	if n := e.client.Status().Totals.OutboundTunnels; n != 2 {
		t.Fatalf("%d tunnels after the warm-up, want one per endpoint", n)
	}

	bh.dead.Store(true)
	time.Sleep(quietBeforePing + 300*time.Millisecond)
	for i := range 6 {
		if err := send(i); err != nil {
			t.Fatalf("connection %d after the peer went silent: %v", i, err)
		}
	}
}
