package discovery

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestGossipScale100 runs 100 members in one process and reports
// convergence times and memory. It takes longer than the -short budget.
func TestGossipScale100(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test: runs without -short")
	}
	if raceEnabled && os.Getenv("ZT_SCALE") == "" {
		t.Skip("scale test: too slow under -race for the shared machine; set ZT_SCALE=1 to run it")
	}
	const n = 100
	// memberlist's LAN profile, spelled out.
	timing := Timing{
		ProbeInterval:       time.Second,
		ProbeTimeout:        500 * time.Millisecond,
		GossipInterval:      200 * time.Millisecond,
		PushPullInterval:    30 * time.Second,
		GossipToTheDeadTime: 5 * time.Second,
		TCPTimeout:          5 * time.Second,
		SuspicionMult:       4,
		ReconcileInterval:   time.Second,
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	start := time.Now()
	var nodes []*Gossip
	for i := range n {
		cfg := nodeConfig(fmt.Sprintf("n%03d", i))
		cfg.Timing = timing
		cfg.RejoinInterval = 5 * time.Second
		if i > 0 {
			// memberlist joins every seed given; one earlier member each
			// keeps the join load spread as in a rolling start.
			cfg.Join = []string{nodes[i/2].GossipAddr()}
			time.Sleep(20 * time.Millisecond)
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	started := time.Since(start)
	ids, addrs := make([]string, n), make([]string, n)
	for i := range n {
		ids[i], addrs[i] = workloadOf(fmt.Sprintf("n%03d", i)), tunnelAddrOf(fmt.Sprintf("n%03d", i))
	}
	lastReport := time.Now()
	converged := waitFor(t, 150*time.Second, "all members resolve all workloads", func() bool {
		// Poll gently: the check itself must not starve 100 memberlists.
		time.Sleep(100 * time.Millisecond)
		minAlive, missing := n, 0
		for _, g := range nodes {
			minAlive = min(minAlive, int(g.alive.Load()))
			for i := range n {
				if r := g.Resolve(ids[i]); len(r) != 1 || r[0] != addrs[i] {
					missing++
				}
			}
		}
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			t.Logf("progress: min alive %d, %d unresolved (member, workload) pairs", minAlive, missing)
			if testing.Verbose() {
				for _, g := range nodes {
					var bad []string
					for _, m := range g.Members() {
						if m.State != StateAlive || !slicesEqual(g.Resolve(workloadOf(m.Name)), []string{tunnelAddrOf(m.Name)}) {
							bad = append(bad, m.Name+"="+m.State)
						}
					}
					if len(bad) > 0 || len(g.Members()) != n {
						t.Logf("  %s: %d members, not resolving %v", g.cfg.NodeName, len(g.Members()), bad)
					}
				}
			}
		}
		return minAlive == n && missing == 0
	})
	t.Logf("%d members: started in %v, converged %v after the last start", n, started, converged)

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("memory: heap %.1f MiB for %d members (%.0f KiB each), %d goroutines",
		float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), n,
		float64(after.HeapAlloc-before.HeapAlloc)/1024/n, runtime.NumGoroutine()-goroutines)

	// A change on one member reaches all others.
	if err := nodes[42].SetLocal(tunnelAddrOf("n042"), []Workload{{ID: workloadOf("n042")}, {ID: "spiffe://test/new"}}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 30*time.Second, "SetLocal everywhere", func() bool {
		return resolvesTo(nodes, "spiffe://test/new", tunnelAddrOf("n042"))
	})
	t.Logf("SetLocal reached %d members in %v", n, took)

	// A failed member disappears everywhere.
	if err := nodes[77].Shutdown(); err != nil {
		t.Fatal(err)
	}
	rest := append(append([]*Gossip(nil), nodes[:77]...), nodes[78:]...)
	took = waitFor(t, 60*time.Second, "dead member gone", func() bool { return resolvesTo(rest, workloadOf("n077")) })
	t.Logf("failed member gone from every Resolve in %v", took)

	var st Stats
	for _, g := range rest {
		s := g.Stats()
		st.PushPulls += s.PushPulls
		st.PullsSent += s.PullsSent
		st.MessagesReceived += s.MessagesReceived
		st.DecodeErrors += s.DecodeErrors
	}
	t.Logf("totals: %d push-pulls, %d pulls, %d messages received, %d decode errors", st.PushPulls, st.PullsSent, st.MessagesReceived, st.DecodeErrors)
}
