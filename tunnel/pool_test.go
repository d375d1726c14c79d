package tunnel

import (
	"io"
	"net"
	"slices"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// roundTrip sends msg through c and checks the echo.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		t.Fatalf("echo = %q, %v; want %q", buf, err, msg)
	}
}

func TestFailoverWithinOneAttempt(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	good := e.server.Addr().String()
	e.resolver.set(deadAddr(t), good)
	for i := range 4 { // the round robin starts on the dead endpoint at least once
		c := dial(t, e.upstream)
		roundTrip(t, c, "hello")
		c.Close()
		_ = i
	}
	for _, tun := range e.client.Status().Tunnels {
		if tun.Peer != good {
			t.Fatalf("a tunnel to %s exists, want only %s", tun.Peer, good)
		}
	}
}

func TestFailoverOnNotServing(t *testing.T) {
	// The first endpoint is an agent that holds payments' certificate but
	// exposes nothing for it: NOT_SERVING moves the attempt on.
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	e2cfg := DefaultConfig()
	e2cfg.Listen = "127.0.0.1:0"
	e2cfg.Exposes = []Expose{{Workload: idOther, Port: 1, Backend: "127.0.0.1:1"}}
	e2cfg.TLS = newStore(t, e.ca, []*identitytest.CA{e.ca}, idPay, idOther)
	e2cfg.Authorize = newSwitchPolicy(true, "allow-all").authorize
	notServing := startTunnel(t, e2cfg)
	e.resolver.set(notServing.Addr().String(), e.server.Addr().String())
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
}

func TestStreamsPerSessionOpensAnotherSession(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: func(c *Config) { c.StreamsPerSession = 2 }})
	for i := range 3 {
		c := dial(t, e.upstream)
		roundTrip(t, c, "hello") // held open until the test ends
		_ = i
	}
	st := e.client.Status()
	var streams []int
	for _, tun := range st.Tunnels {
		streams = append(streams, tun.Streams)
	}
	slices.Sort(streams)
	if !slices.Equal(streams, []int{1, 2}) {
		t.Fatalf("tunnels carry %v streams, want [1 2]", streams)
	}
}

func TestSessionsShared(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			c := dial(t, e.upstream)
			roundTrip(t, c, "hello")
		}()
	}
	for range 8 {
		<-done
	}
	if n := e.client.Status().Totals.OutboundTunnels; n != 1 {
		t.Fatalf("%d outbound tunnels for 8 concurrent streams, want 1 (one shared dial)", n)
	}
	hs, _ := e.clientMetrics.snapshot()
	if !slices.Equal(hs, []string{"outbound/ok/"}) {
		t.Fatalf("handshakes %v, want one", hs)
	}
}

func TestNoEndpoint(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, envOpts{backend: "127.0.0.1:1", clientConfig: func(c *Config) { c.Logger = logs.logger() }})
	e.resolver.set()
	expectReset(t, e.upstream)
	eventually(t, "the reason to be logged", func() bool {
		return contains(logs.String(), "tunnel: no endpoint for "+idPay)
	})
}

func TestDrainPeerLetsStreamsFinish(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
	e.client.DrainPeer(e.server.Addr().String())
	roundTrip(t, c, "still flowing")
	c2 := dial(t, e.upstream) // a new stream gets a new session
	roundTrip(t, c2, "new")
	if n := e.client.Status().Totals.OutboundTunnels; n != 2 {
		t.Fatalf("%d outbound tunnels, want the draining one and a new one", n)
	}
	c.CloseWrite()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("draining stream ended with %v, want a clean EOF", err)
	}
	eventually(t, "the drained session to close", func() bool {
		return e.client.Status().Totals.OutboundTunnels == 1
	})
}
