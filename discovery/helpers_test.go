package discovery

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testKey returns a 32-byte key filled with b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// testLogger discards logs unless ZT_TEST_LOG is set (memberlist goroutines
// may log after a test ends, so never log through t.Log).
func testLogger(name string) hclog.Logger {
	if os.Getenv("ZT_TEST_LOG") == "" {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.LevelFromString(os.Getenv("ZT_TEST_LOG")), Output: os.Stderr})
}

// fastTiming makes failure detection and dissemination take well under a
// second on loopback.
func fastTiming() Timing {
	return Timing{
		ProbeInterval:       200 * time.Millisecond,
		ProbeTimeout:        150 * time.Millisecond,
		GossipInterval:      30 * time.Millisecond,
		PushPullInterval:    2 * time.Second,
		GossipToTheDeadTime: 2 * time.Second,
		TCPTimeout:          2 * time.Second,
		SuspicionMult:       3,
		ReconcileInterval:   100 * time.Millisecond,
	}
}

// nodeConfig returns a config for a loopback node named name serving one
// workload "spiffe://test/<name>" at a fake tunnel address.
func nodeConfig(name string, keys ...[]byte) Config {
	if len(keys) == 0 {
		keys = [][]byte{testKey(1)}
	}
	cfg := DefaultConfig()
	cfg.NodeName = name
	cfg.BindAddr = "127.0.0.1:0"
	cfg.Keys = keys
	cfg.Profile = "local"
	cfg.Timing = fastTiming()
	cfg.RejoinInterval = 500 * time.Millisecond
	cfg.TunnelAddr = tunnelAddrOf(name)
	cfg.Workloads = []Workload{{ID: workloadOf(name), Ports: []int{8443}}}
	cfg.Logger = testLogger(name)
	return cfg
}

func workloadOf(name string) string { return "spiffe://test/" + name }

// tunnelAddrOf is a deterministic fake tunnel address per node name; it is
// only announced, never dialled.
func tunnelAddrOf(name string) string {
	var h byte
	for _, c := range []byte(name) {
		h = h*31 + c
	}
	return net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", h, len(name)), "15008")
}

// startNode starts a Gossip and shuts it down at the end of the test.
func startNode(tb testing.TB, cfg Config) *Gossip {
	tb.Helper()
	g, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%s): %v", cfg.NodeName, err)
	}
	if err := g.Start(context.Background()); err != nil {
		tb.Fatalf("Start(%s): %v", cfg.NodeName, err)
	}
	tb.Cleanup(func() { _ = g.Shutdown() })
	return g
}

// startCluster starts n nodes n0..n(n-1); every node joins n0.
func startCluster(tb testing.TB, n int, keys ...[]byte) []*Gossip {
	tb.Helper()
	nodes := []*Gossip{startNode(tb, nodeConfig("n0", keys...))}
	for i := 1; i < n; i++ {
		cfg := nodeConfig(fmt.Sprintf("n%d", i), keys...)
		cfg.Join = []string{nodes[0].GossipAddr()}
		nodes = append(nodes, startNode(tb, cfg))
	}
	return nodes
}

// waitFor polls cond until it holds or timeout passes, and returns how long
// it took.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// resolvesTo reports whether every node resolves id to exactly want.
func resolvesTo(nodes []*Gossip, id string, want ...string) bool {
	for _, g := range nodes {
		if !slicesEqual(g.Resolve(id), want) {
			return false
		}
	}
	return true
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// aliveNames returns the names of the members g sees alive.
func aliveNames(g *Gossip) []string {
	var out []string
	for _, m := range g.Members() {
		if m.State == StateAlive {
			out = append(out, m.Name)
		}
	}
	return out
}
