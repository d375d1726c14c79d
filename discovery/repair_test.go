package discovery

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGossipPullRepairsCatalog: a workload too large for any UDP packet
// never travels by broadcast, and periodic push-pull is off, so only the
// pull triggered by the metadata generation can deliver it.
func TestGossipPullRepairsCatalog(t *testing.T) {
	var nodes []*Gossip
	for i, name := range []string{"p0", "p1", "p2"} {
		cfg := nodeConfig(name)
		cfg.Timing.PushPullInterval = time.Hour
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("p2"), tunnelAddrOf("p2")) })
	big := "spiffe://test/" + strings.Repeat("x", 1500)
	if err := nodes[0].SetLocal(tunnelAddrOf("p0"), []Workload{{ID: big}}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 10*time.Second, "oversized catalog pulled", func() bool { return resolvesTo(nodes, big, tunnelAddrOf("p0")) })
	t.Logf("repaired by pull in %v", took)
	var pulls, served uint64
	for _, g := range nodes {
		pulls += g.Stats().PullsSent
		served += g.Stats().PullsServed
	}
	if pulls == 0 || served == 0 {
		t.Errorf("pulls sent %d, served %d", pulls, served)
	}
}

func TestReconcileReapsDeadMembers(t *testing.T) {
	cfg := nodeConfig("self")
	cfg.DeadRetention = time.Minute
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	g.mu.Lock()
	g.members["gone"] = &memberState{Name: "gone", State: StateDead, Since: now.Add(-2 * time.Minute)}
	g.members["recent"] = &memberState{Name: "recent", State: StateLeft, Since: now.Add(-time.Second)}
	g.catalogs["gone"] = &heldCatalog{catalog: catalog{Node: "gone"}, received: now}
	g.catalogs["stranger"] = &heldCatalog{catalog: catalog{Node: "stranger"}, received: now.Add(-2 * time.Minute)}
	g.catalogs["unknown"] = &heldCatalog{catalog: catalog{Node: "unknown", GossipAddr: "127.0.0.9:7946"}, received: now.Add(-2 * time.Second)}
	g.catalogs["just-heard"] = &heldCatalog{catalog: catalog{Node: "just-heard", GossipAddr: "127.0.0.8:7946"}, received: now}
	g.mu.Unlock()

	// A node known only from its catalog is joined once per RejoinInterval,
	// after memberlist had one reconcile interval to report it.
	if jobs, unknown := g.reconcile(now); len(jobs) != 0 || !slices.Equal(unknown, []string{"127.0.0.9:7946"}) {
		t.Errorf("jobs = %v, unknown = %v", jobs, unknown)
	}
	if _, unknown := g.reconcile(now.Add(time.Millisecond)); len(unknown) != 0 {
		t.Errorf("joined again at once: %v", unknown)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members["gone"] != nil || g.catalogs["gone"] != nil || g.catalogs["stranger"] != nil {
		t.Error("expired member or catalog kept")
	}
	if g.members["recent"] == nil {
		t.Error("recently left member reaped")
	}
}

func TestEncodeStateLimit(t *testing.T) {
	cs := []catalog{
		{Node: "a", Workloads: []Workload{{ID: strings.Repeat("a", 100)}}},
		{Node: "b", Workloads: []Workload{{ID: strings.Repeat("b", 100)}}},
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{name: "all fit", limit: 1 << 10, want: 2},
		{name: "second cut", limit: 150, want: 1},
		{name: "first always sent", limit: 10, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decodeMessage(encodeStateLimit(cs, tt.limit))
			if err != nil || len(m.State) != tt.want {
				t.Fatalf("got %d catalogs, %v; want %d", len(m.State), err, tt.want)
			}
		})
	}
}
