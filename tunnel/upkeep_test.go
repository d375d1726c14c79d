package tunnel

import (
	"errors"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

func TestSweepClosesIdleSessions(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
	e.client.pool.sweep(time.Now().Add(2 * sessionIdleTimeout))
	if n := e.client.Status().Totals.Tunnels; n != 1 {
		t.Fatalf("%d tunnels after a sweep while a stream is open, want 1", n)
	}
	c.Close()
	eventually(t, "the stream's slot to be released", func() bool {
		ss := e.client.sessionList()
		return len(ss) == 1 && ss[0].streams.Load() == 0
	})
	e.client.pool.sweep(time.Now())
	if n := e.client.Status().Totals.Tunnels; n != 1 {
		t.Fatalf("%d tunnels after a sweep of a freshly idle session, want 1", n)
	}
	e.client.pool.sweep(time.Now().Add(sessionIdleTimeout + time.Second))
	eventually(t, "the idle session to close", func() bool { return e.client.Status().Totals.Tunnels == 0 })
	c2 := dial(t, e.upstream)
	roundTrip(t, c2, "again")
}

// TestExpiringSessionRenewed: a session whose callee certificate is about
// to expire takes streams until half its remaining life, then new streams
// go to a new session.
func TestExpiringSessionRenewed(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	const life = 3 * time.Second
	e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo), serverConfig: func(c *Config) {
		dir := t.TempDir()
		now := time.Now()
		cert, key := ca.Issue(t, idPay, identitytest.WithValidity(now.Add(-time.Hour), now.Add(life))).
			WriteFiles(t, dir, "pay")
		st, err := identity.NewStore(identity.StoreConfig{
			TrustDomain: testTD, BundleFile: ca.WriteBundle(t, dir),
			Workloads: []identity.WorkloadConfig{{ID: idPay, CertFile: cert, KeyFile: key}},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.TLS = st
	}})
	send := func(msg string) {
		c := dial(t, e.upstream)
		roundTrip(t, c, msg)
		c.Close()
	}
	send("one")
	send("two")
	if hs, _ := e.clientMetrics.snapshot(); !slices.Equal(hs, []string{"outbound/ok/"}) {
		t.Fatalf("handshakes %v, want the fresh session reused", hs)
	}
	ss := e.client.sessionList()
	if len(ss) != 1 {
		t.Fatalf("%d sessions", len(ss))
	}
	time.Sleep(time.Until(ss[0].renewAt) + 50*time.Millisecond)
	send("three")
	if hs, _ := e.clientMetrics.snapshot(); !slices.Equal(hs, []string{"outbound/ok/", "outbound/ok/"}) {
		t.Fatalf("handshakes %v, want a new session after renewAt", hs)
	}
}

func TestRenewTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		expires time.Time
		want    time.Time
	}{
		{"unknown expiry", time.Time{}, time.Time{}},
		{"hour-long: a minute before", t0.Add(time.Hour), t0.Add(time.Hour - renewBefore)},
		{"seconds-long: half-way", t0.Add(4 * time.Second), t0.Add(2 * time.Second)},
		{"already expired: now", t0.Add(-time.Second), t0.Add(-time.Second / 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := renewTime(t0, tc.expires); !got.Equal(tc.want) {
				t.Fatalf("renewTime = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOwnExpiredCertRefusedLocally: a workload whose own certificate has
// expired gets its upstream connections refused by its own agent, with a
// log line naming the certificate, and no handshake is attempted.
func TestOwnExpiredCertRefusedLocally(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	var expiry time.Time
	e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo), clientConfig: func(c *Config) {
		dir := t.TempDir()
		now := time.Now()
		expiry = now.Truncate(time.Second).Add(2 * time.Second) // x509 keeps whole seconds
		cert, key := ca.Issue(t, idFront, identitytest.WithValidity(now.Add(-time.Hour), expiry)).
			WriteFiles(t, dir, "front")
		st, err := identity.NewStore(identity.StoreConfig{
			TrustDomain: testTD, BundleFile: ca.WriteBundle(t, dir),
			Workloads: []identity.WorkloadConfig{{ID: idFront, CertFile: cert, KeyFile: key}},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.TLS = st
	}})
	time.Sleep(time.Until(expiry) + 100*time.Millisecond)
	// The refusal may come before connect() returns: a reset either way.
	c, err := net.Dial("tcp", e.upstream)
	if err == nil {
		defer c.Close()
		_, err = io.ReadAll(c)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want a reset, got %v", err)
	}
	if hs, _ := e.clientMetrics.snapshot(); len(hs) != 0 {
		t.Fatalf("handshakes %v, want none", hs)
	}
}
