package tunnel

import (
	"slices"
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

func TestExpiringSessionNotReused(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo), serverConfig: func(c *Config) {
		// The callee's certificate expires within renewBefore.
		dir := t.TempDir()
		now := time.Now()
		cert, key := ca.Issue(t, idPay, identitytest.WithValidity(now.Add(-time.Hour), now.Add(renewBefore/2))).
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
	for _, msg := range []string{"one", "two"} {
		c := dial(t, e.upstream)
		roundTrip(t, c, msg)
		c.Close()
	}
	hs, _ := e.clientMetrics.snapshot()
	if !slices.Equal(hs, []string{"outbound/ok/", "outbound/ok/"}) {
		t.Fatalf("handshakes %v, want a new session per stream", hs)
	}
}
