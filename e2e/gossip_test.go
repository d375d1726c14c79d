package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/agent"
	"github.com/ztunnel-dev/ztunnel/discovery"
)

// taggedBackend answers every connection with its tag, so a test can tell
// which instance of a workload served it.
func taggedBackend(tb testing.TB, tag string) string {
	tb.Helper()
	return serveTCP(tb, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
		_, _ = io.WriteString(c, tag)
	})
}

type gossipMesh struct {
	p       *pki
	dir     string
	keyFile string
	policy  string
}

func newGossipMesh(t *testing.T) *gossipMesh {
	t.Helper()
	m := &gossipMesh{p: newPKI(t), dir: t.TempDir()}
	key, err := discovery.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	m.keyFile = filepath.Join(m.dir, "gossip.key")
	writeFile(t, m.keyFile, key+"\n")
	m.policy = filepath.Join(m.dir, "policy.hcl")
	writeFile(t, m.policy, allowFrontendPolicy)
	return m
}

// gossipBlock joins seed ("" for the first node).
func (m *gossipMesh) gossipBlock(seed string) string {
	join := ""
	if seed != "" {
		join = fmt.Sprintf("join = [%q]", seed)
	}
	return fmt.Sprintf("gossip {\n  listen = \"127.0.0.1:0\"\n  advertise = \"127.0.0.1:0\"\n  key_file = %q\n  %s\n}\n", m.keyFile, join)
}

// payments starts an agent serving payments with a backend answering tag.
func (m *gossipMesh) payments(t *testing.T, name, seed, tag string) *node {
	t.Helper()
	c, k := m.p.issue(t, name, idPayments)
	return startAgent(t, m.dir, name, agentConfig{
		Name: name, DataDir: m.dir, Trust: trustBlock(m.p), Policy: m.policy, Extra: m.gossipBlock(seed),
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, Cert: c, Key: k,
			Exposes: []exposeConfig{{Port: 8443, Backend: taggedBackend(t, tag)}}}},
	}.String())
}

func (m *gossipMesh) frontend(t *testing.T, name, seed string) *node {
	t.Helper()
	c, k := m.p.issue(t, name, idFrontend)
	return startAgent(t, m.dir, name, agentConfig{
		Name: name, DataDir: m.dir, Trust: trustBlock(m.p), Policy: m.policy, Extra: m.gossipBlock(seed),
		Workloads: []workloadConfig{{Name: "frontend", ID: idFrontend, Cert: c, Key: k,
			Upstreams: []upstreamConfig{{Name: "payments", Target: idPayments, Port: 8443}}}},
	}.String())
}

// TestGossipDiscoveryAndFailover: three agents and no peer blocks. The
// caller finds both payments instances by gossip, spreads connections over
// them, and keeps working with no failed connection when one instance's
// agent is killed.
func TestGossipDiscoveryAndFailover(t *testing.T) {
	m := newGossipMesh(t)
	p1 := m.payments(t, "p1", "", "p1")
	p2 := m.payments(t, "p2", p1.a.GossipAddr(), "p2")
	fe := m.frontend(t, "fe", p1.a.GossipAddr())
	up := fe.a.UpstreamAddr(idFrontend, "payments").String()

	start := time.Now()
	eventually(t, 10*time.Second, "both payments instances known to fe", func() bool {
		ms, err := fetchMembers(fe)
		if err != nil {
			return false
		}
		n := 0
		for _, mb := range ms {
			for _, w := range mb.Workloads {
				if w.ID == idPayments && mb.State == "alive" {
					n++
				}
			}
		}
		return n == 2
	})
	t.Logf("catalog converged in %v", time.Since(start))

	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		reply, err := roundTrip(up, "pay")
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		seen[reply]++
	}
	if seen["p1"] == 0 || seen["p2"] == 0 {
		t.Fatalf("connections not spread over both instances: %v", seen)
	}

	// Kill p1's agent (no graceful leave): callers keep working at once,
	// failing over within the same connection attempt.
	p1.a.Close()
	killed := time.Now()
	for i := 0; i < 20; i++ {
		reply, err := roundTrip(up, "pay")
		if err != nil || reply != "p2" {
			t.Fatalf("connection %d after the kill: %q %v", i, reply, err)
		}
	}
	eventually(t, 30*time.Second, "p1 declared gone", func() bool {
		ms, _ := fetchMembers(fe)
		for _, mb := range ms {
			if mb.Name == "p1" {
				return mb.State == "dead" || mb.State == "left"
			}
		}
		return false
	})
	t.Logf("p1 declared dead %v after the kill", time.Since(killed))
	_ = p2
}

// TestGossipLiarGainsNothing: a member that advertises payments without
// holding its certificate never receives a connection for it.
func TestGossipLiarGainsNothing(t *testing.T) {
	m := newGossipMesh(t)
	p1 := m.payments(t, "p1", "", "p1")
	fe := m.frontend(t, "fe", p1.a.GossipAddr())
	up := fe.a.UpstreamAddr(idFrontend, "payments").String()

	// The liar: a real TLS server on its own port, answering with a valid
	// certificate of the same CA but another identity, announced by gossip
	// as a payments instance.
	liarTLS := m.liar(t).a.TunnelAddr().String()
	keys, err := discovery.LoadKeyFile(m.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	gc := discovery.DefaultConfig()
	gc.NodeName, gc.BindAddr, gc.Keys = "liar", "127.0.0.1:0", keys
	gc.Join = []string{p1.a.GossipAddr()}
	gc.TunnelAddr = liarTLS
	gc.Workloads = []discovery.Workload{{ID: idPayments, Ports: []int{8443}}}
	liar, err := discovery.New(gc)
	if err != nil {
		t.Fatal(err)
	}
	if err := liar.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = liar.Shutdown() })
	eventually(t, 10*time.Second, "liar known to fe", func() bool {
		ms, _ := fetchMembers(fe)
		for _, mb := range ms {
			if mb.Name == "liar" && len(mb.Workloads) > 0 {
				return true
			}
		}
		return false
	})

	for i := 0; i < 20; i++ {
		reply, err := roundTrip(up, "pay")
		if err != nil || reply != "p1" {
			t.Fatalf("connection %d: %q %v (must reach the real instance)", i, reply, err)
		}
	}
}

// liar starts an agent (no gossip) whose workload is another identity of
// the same CA; its backend would answer "LIAR".
func (m *gossipMesh) liar(t *testing.T) *node {
	t.Helper()
	id := "spiffe://" + td + "/ns/prod/sa/liar"
	c, k := m.p.issue(t, "liar", id)
	return startAgent(t, m.dir, "liar", agentConfig{
		Name: "liar", DataDir: m.dir, Trust: trustBlock(m.p), Policy: m.policy,
		Workloads: []workloadConfig{{Name: "liar", ID: id, Cert: c, Key: k,
			Exposes: []exposeConfig{{Port: 8443, Backend: taggedBackend(t, "LIAR")}}}},
	}.String())
}

func fetchMembers(n *node) ([]discovery.Member, error) {
	return agent.FetchMembers(n.a.AdminAddr().String())
}

// TestGossipWorkloadAddedOnReload: a payments instance whose config gains
// its expose block on reload becomes reachable through gossip, with no
// restart and no peer block.
func TestGossipWorkloadAddedOnReload(t *testing.T) {
	m := newGossipMesh(t)
	seed := m.frontend(t, "fe", "")
	up := seed.a.UpstreamAddr(idFrontend, "payments").String()

	c, k := m.p.issue(t, "late", idPayments)
	cfg := agentConfig{
		Name: "late", DataDir: m.dir, Trust: trustBlock(m.p), Policy: m.policy,
		Extra:     m.gossipBlock(seed.a.GossipAddr()),
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, Cert: c, Key: k}},
	}
	late := startAgent(t, m.dir, "late", cfg.String())
	reply, err := roundTrip(up, "early")
	wantReset(t, reply, err) // nobody serves payments yet

	cfg.Workloads[0].Exposes = []exposeConfig{{Port: 8443, Backend: taggedBackend(t, "late")}}
	writeFile(t, late.file, cfg.String())
	start := time.Now()
	if err := late.a.Reload("test"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "payments reachable after the reload", func() bool {
		reply, err := roundTrip(up, "now")
		return err == nil && reply == "late"
	})
	t.Logf("workload reachable %v after the reload", time.Since(start))
}
