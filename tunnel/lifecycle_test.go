package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRecheckCutsStreamDeniedByNewPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		side func(e *env) (*Tunnel, *switchPolicy)
	}{
		{"callee", func(e *env) (*Tunnel, *switchPolicy) { return e.server, e.serverPol }},
		{"caller", func(e *env) (*Tunnel, *switchPolicy) { return e.client, e.clientPol }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, ended := heldBackend(t)
			m := &gaugeMetrics{bytes: map[string]int{}, decisions: map[string]int{}}
			e := newEnv(t, envOpts{backend: backend,
				clientConfig: func(c *Config) { c.Metrics = m }, serverConfig: func(c *Config) { c.Metrics = m }})
			c := dial(t, e.upstream)
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatalf("read hello: %v", err)
			}
			tun, pol := tc.side(e)
			_, _, _, decided := m.get()
			if n := tun.Recheck(); n != 0 {
				t.Fatalf("Recheck under the same policy cut %d streams, want 0", n)
			}
			// A stream is decided when it opens: a recheck that changes
			// nothing counts no decision.
			if _, _, _, after := m.get(); !maps.Equal(after, decided) {
				t.Fatalf("Recheck counted decisions %v, had %v", after, decided)
			}
			pol.set(false, "lockdown")
			if n := tun.Recheck(); n != 1 {
				t.Fatalf("Recheck cut %d streams, want 1", n)
			}
			if _, _, _, after := m.get(); after["deny/lockdown"] != 1 {
				t.Fatalf("the cut was counted %d times as deny/lockdown, want once", after["deny/lockdown"])
			}
			// Both ends see a reset whichever agent cut the stream.
			if err := readErr(c); !isReset(err) {
				t.Fatalf("app read ended with %v, want a connection reset", err)
			}
			if err := <-ended; !isReset(err) {
				t.Fatalf("backend read ended with %v, want a connection reset", err)
			}
		})
	}
}

func TestShutdownDrainsThenCuts(t *testing.T) {
	backend := serve(t, echo)
	e := newEnv(t, envOpts{backend: backend})
	finishing := dial(t, e.upstream)
	roundTrip(t, finishing, "a")
	stuck := dial(t, e.upstream)
	roundTrip(t, stuck, "b")

	type result struct {
		cut int
		err error
	}
	res := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	go func() {
		n, err := e.server.Shutdown(ctx)
		res <- result{n, err}
	}()
	eventually(t, "the drain to begin", func() bool { return e.server.draining.Load() })
	// The in-flight stream still works during the drain and ends cleanly.
	roundTrip(t, finishing, "still here")
	finishing.CloseWrite()
	if got, err := io.ReadAll(finishing); err != nil || len(got) != 0 {
		t.Fatalf("finishing stream ended with %q, %v; want a clean EOF", got, err)
	}
	r := <-res
	if r.cut != 1 || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %d, %v; want 1, deadline exceeded", r.cut, r.err)
	}
	if err := readErr(stuck); !isReset(err) {
		t.Fatalf("stuck stream ended with %v, want a connection reset", err)
	}
	if _, err := net.DialTimeout("tcp", e.server.Addr().String(), time.Second); err == nil {
		t.Fatal("the tunnel port still accepts after Shutdown")
	}
}

func TestShutdownIdle(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	n, err := e.client.Shutdown(context.Background())
	if n != 0 || err != nil {
		t.Fatalf("Shutdown = %d, %v; want 0, nil", n, err)
	}
	if err := e.client.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStartErrorNamesUpstream(t *testing.T) {
	busy := listen(t).Addr().String()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Upstreams = []Upstream{{Source: idFront, Name: "payments", Listen: busy, Target: idPay}}
	cfg.TLS = newSwitchTLS()
	cfg.Resolver = &staticResolver{}
	cfg.Authorize = newSwitchPolicy(true, "x").authorize
	tun, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = tun.Start()
	want := `tunnel: upstream "payments" of workload ` + idFront + `: listen tcp ` + busy + `: bind: address already in use`
	if err == nil || err.Error() != want {
		t.Fatalf("Start = %v, want %q", err, want)
	}
	if tun.Addr() != nil {
		t.Fatal("the tunnel port stays bound after a failed Start")
	}
}

func TestUpdate(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	old := e.upstream
	c := dial(t, old)
	roundTrip(t, c, "before")
	ups := []Upstream{{Source: idFront, Name: "payments2", Listen: "127.0.0.1:0", Target: idPay}}
	if err := e.client.Update(ups, nil); err != nil {
		t.Fatal(err)
	}
	if e.client.UpstreamAddr(idFront, "payments") != nil {
		t.Fatal("removed upstream still has an address")
	}
	if _, err := net.DialTimeout("tcp", old, time.Second); err == nil {
		t.Fatal("removed upstream still accepts")
	}
	roundTrip(t, c, "open conns go on") // an accepted conn outlives its listener
	c2 := dial(t, e.client.UpstreamAddr(idFront, "payments2").String())
	roundTrip(t, c2, "after")

	// A bind failure changes nothing.
	busy := listen(t).Addr().String()
	bad := append(ups, Upstream{Source: idFront, Name: "x", Listen: busy, Target: idPay})
	if err := e.client.Update(bad, nil); err == nil || !strings.Contains(err.Error(), `upstream "x"`) {
		t.Fatalf("Update = %v, want an error naming upstream \"x\"", err)
	}
	if e.client.UpstreamAddr(idFront, "payments2") == nil {
		t.Fatal("a failed Update removed an upstream")
	}
	// The callee's exposes swap: without payments' port, streams are refused.
	if err := e.server.Update(nil, nil); err != nil {
		t.Fatal(err)
	}
	expectReset(t, e.client.UpstreamAddr(idFront, "payments2").String())
}

func TestStatusJSON(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
	b, err := json.Marshal(e.client.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tunnels":[{"source":"` + idFront + `","target":"` + idPay + `"`,
		`"direction":"outbound","streams":1,"opened_at":`, `"upstreams":[{"source":"` + idFront + `","name":"payments"`,
		`"conns":1`, `"bytes_out":5,"bytes_in":5`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("status JSON lacks %s:\n%s", want, b)
		}
	}
}

func TestValidate(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.TLS = newSwitchTLS()
		c.Authorize = newSwitchPolicy(true, "x").authorize
		c.Resolver = &staticResolver{}
		return c
	}
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no hooks", func(c *Config) { c.TLS, c.Authorize = nil, nil },
			"tunnel: invalid config: no TLS provider; no authorizer"},
		{"negative", func(c *Config) { c.MaxHandshakes = -1 }, "tunnel: invalid config: max handshakes -1 is negative"},
		{"negative max streams", func(c *Config) { c.MaxStreams = -1 }, "tunnel: invalid config: max streams -1 is negative"},
		{"stream window below yamux's", func(c *Config) { c.StreamWindow = 1000 },
			"tunnel: invalid config: stream window 1000 is outside 262144..67108864 bytes"},
		{"stream window too large", func(c *Config) { c.StreamWindow = 1 << 30 },
			"tunnel: invalid config: stream window 1073741824 is outside 262144..67108864 bytes"},
		{"bad listen", func(c *Config) { c.Listen = "nope" },
			`tunnel: invalid config: listen "nope": address nope: missing port in address`},
		{"upstream twice", func(c *Config) {
			u := Upstream{Source: idFront, Name: "a", Listen: "127.0.0.1:0", Target: idPay}
			c.Upstreams = []Upstream{u, u}
		}, `tunnel: invalid config: upstream "a" of workload ` + idFront + `: defined twice`},
		{"expose port", func(c *Config) { c.Exposes = []Expose{{Workload: idPay, Backend: "127.0.0.1:1"}} },
			"tunnel: invalid config: expose of port 0 of workload " + idPay + ": port out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mod(&c)
			err := c.Validate()
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Fatalf("Validate = %v, want %q", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error does not wrap ErrInvalidConfig")
			}
		})
	}
}

func TestConnsPerUpstreamLimit(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: func(c *Config) { c.ConnsPerUpstream = 1 }})
	held := dial(t, e.upstream)
	roundTrip(t, held, "hello")
	expectReset(t, e.upstream)
	held.Close()
	eventually(t, "the slot to free", func() bool { return e.client.Status().Totals.UpstreamConns == 0 })
	c := dial(t, e.upstream)
	roundTrip(t, c, "again")
}

func TestDrainingCalleeRefusesNewStreams(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	held := dial(t, e.upstream)
	roundTrip(t, held, "hello") // keeps the session and the drain busy
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.server.Shutdown(ctx)
	eventually(t, "the drain to begin", func() bool { return e.server.draining.Load() })
	eventually(t, "the caller to see the GoAway", func() bool {
		c, err := net.DialTimeout("tcp", e.upstream, waitLong)
		if err != nil {
			return false
		}
		defer c.Close()
		return isReset(readErr(c)) // refused: no other endpoint
	})
	roundTrip(t, held, "the open stream goes on")
}

func TestUpdateExposesOnLiveSession(t *testing.T) {
	// The callee holds payments' certificate but exposes nothing at first:
	// the session is up, the stream is refused; after Update exposes the
	// port, the next stream on the same session goes through.
	backend := serve(t, echo)
	e := newEnv(t, envOpts{backend: backend, serverConfig: func(c *Config) { c.Exposes = nil }})
	expectReset(t, e.upstream)
	if err := e.server.Update(nil, []Expose{{Workload: idPay, Port: payPort, Backend: backend}}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, e.upstream)
	roundTrip(t, c, "now exposed")
	if hs, _ := e.clientMetrics.snapshot(); len(hs) != 1 {
		t.Fatalf("handshakes %v, want the first session reused", hs)
	}
}
