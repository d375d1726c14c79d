package discovery

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestGossipDiscoversWorkloads(t *testing.T) {
	nodes := startCluster(t, 3)
	took := waitFor(t, 10*time.Second, "every node resolves every workload", func() bool {
		for _, name := range []string{"n0", "n1", "n2"} {
			if !resolvesTo(nodes, workloadOf(name), tunnelAddrOf(name)) {
				return false
			}
		}
		return true
	})
	t.Logf("3-node convergence: %v", took)
	for _, g := range nodes {
		if got := aliveNames(g); !slices.Equal(got, []string{"n0", "n1", "n2"}) {
			t.Errorf("%s sees alive %v", g.cfg.NodeName, got)
		}
	}
	ms := nodes[0].Members()
	if len(ms) != 3 || !ms[0].Self || ms[1].TunnelAddr != tunnelAddrOf("n1") || len(ms[1].Workloads) != 1 || ms[1].GossipAddr != nodes[1].GossipAddr() {
		t.Errorf("n0 members = %+v", ms)
	}
	if got := nodes[1].Resolve("spiffe://test/unknown"); got != nil {
		t.Errorf("unknown workload resolves to %v", got)
	}
}

func TestGossipSetLocalPropagates(t *testing.T) {
	nodes := startCluster(t, 3)
	waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("n2"), tunnelAddrOf("n2")) })

	events := nodes[0].Subscribe()
	added := []Workload{{ID: workloadOf("n1")}, {ID: "spiffe://test/extra", Ports: []int{1, 2}}}
	if err := nodes[1].SetLocal("10.9.9.9:15008", added); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 5*time.Second, "new workload everywhere", func() bool {
		return resolvesTo(nodes, "spiffe://test/extra", "10.9.9.9:15008") && resolvesTo(nodes, workloadOf("n1"), "10.9.9.9:15008")
	})
	t.Logf("SetLocal propagation: %v", took)

	waitFor(t, 5*time.Second, "update event", func() bool {
		for {
			select {
			case e := <-events:
				if e.Type == EventUpdate && e.Member.Name == "n1" && e.Member.TunnelAddr == "10.9.9.9:15008" && len(e.Member.Workloads) == 2 {
					return true
				}
			default:
				return false
			}
		}
	})

	if err := nodes[1].SetLocal("10.9.9.9:15008", added[1:]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "removed workload gone", func() bool { return resolvesTo(nodes, workloadOf("n1")) })

	err := nodes[1].SetLocal("", added)
	if err == nil || err.Error() != "discovery: set local workloads: workloads are served but the tunnel address is empty" {
		t.Errorf("SetLocal without address: %v", err)
	}
}

func TestGossipNodeGone(t *testing.T) {
	tests := []struct {
		name      string
		leave     bool
		wantState string
		wantEvent EventType
	}{
		{name: "shutdown", wantState: StateDead, wantEvent: EventDead},
		{name: "leave", leave: true, wantState: StateLeft, wantEvent: EventLeave},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := startCluster(t, 3)
			waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("n2"), tunnelAddrOf("n2")) })
			events := nodes[0].Subscribe()
			if tt.leave {
				for range 2 { // the second is a no-op
					if err := nodes[2].Leave(time.Second); err != nil {
						t.Fatal(err)
					}
				}
				if err := nodes[2].SetLocal("10.0.0.1:1", nil); err != nil {
					t.Fatal(err) // local only: must not make n2 alive again
				}
			}
			if err := nodes[2].Shutdown(); err != nil {
				t.Fatal(err)
			}
			took := waitFor(t, 10*time.Second, "n2 gone from Resolve", func() bool { return resolvesTo(nodes[:2], workloadOf("n2")) })
			t.Logf("%s: gone from Resolve after %v", tt.name, took)
			var got Event
			waitFor(t, 5*time.Second, "event", func() bool {
				select {
				case got = <-events:
					return got.Member.Name == "n2" && got.Type != EventUpdate
				default:
					return false
				}
			})
			if got.Type != tt.wantEvent || got.Member.TunnelAddr != tunnelAddrOf("n2") || got.Member.State != tt.wantState {
				t.Errorf("event = %+v", got)
			}
			waitFor(t, 5*time.Second, "n1 sees n2 "+tt.wantState, func() bool {
				ms := nodes[1].Members()
				return len(ms) == 3 && ms[2].State == tt.wantState
			})
			st := nodes[0].Stats()
			if st.Alive != 2 || st.Dead+st.Left != 1 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestGossipWrongKeyNeverAdmitted(t *testing.T) {
	nodes := startCluster(t, 2)
	tests := []struct {
		name  string
		keys  [][]byte
		label string
	}{
		{name: "wrong key", keys: [][]byte{testKey(9)}},
		{name: "wrong label", keys: [][]byte{testKey(1)}, label: "other"},
	}
	var intruders []*Gossip
	for _, tt := range tests {
		cfg := nodeConfig("intruder-"+tt.name[len(tt.name)-3:], tt.keys...)
		if tt.label != "" {
			cfg.Label = tt.label
		}
		cfg.Workloads = []Workload{{ID: workloadOf("n0")}} // tries to hijack
		cfg.Join = []string{nodes[0].GossipAddr()}
		intruders = append(intruders, startNode(t, cfg))
	}
	time.Sleep(2 * time.Second) // several probe, gossip and rejoin rounds
	for _, g := range nodes {
		if got := aliveNames(g); !slices.Equal(got, []string{"n0", "n1"}) {
			t.Errorf("%s sees %v", g.cfg.NodeName, got)
		}
		if got := g.Resolve(workloadOf("n0")); !slices.Equal(got, []string{tunnelAddrOf("n0")}) {
			t.Errorf("%s resolves n0 to %v", g.cfg.NodeName, got)
		}
	}
	for _, g := range intruders {
		if got := len(g.Members()); got != 1 {
			t.Errorf("%s knows %d members", g.cfg.NodeName, got)
		}
	}
}

func TestGossipSameNameRestartRejoins(t *testing.T) {
	nodes := startCluster(t, 3)
	waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("n2"), tunnelAddrOf("n2")) })
	if err := nodes[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "n2 dead", func() bool { return resolvesTo(nodes[:2], workloadOf("n2")) })

	// Same name, new gossip port and new tunnel address.
	cfg := nodeConfig("n2")
	cfg.TunnelAddr = "10.2.2.2:15008"
	cfg.Join = []string{nodes[0].GossipAddr()}
	start := time.Now()
	n2 := startNode(t, cfg)
	all := []*Gossip{nodes[0], nodes[1], n2}
	waitFor(t, 10*time.Second, "restarted n2 resolves everywhere", func() bool {
		return resolvesTo(all, workloadOf("n2"), "10.2.2.2:15008") && resolvesTo(all, workloadOf("n0"), tunnelAddrOf("n0"))
	})
	t.Logf("same-name restart rejoined in %v", time.Since(start))
}

func TestGossipKeyRotation(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	nodes := startCluster(t, 3, k1)
	waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("n2"), tunnelAddrOf("n2")) })
	for i, step := range [][][]byte{{k1, k2}, {k2, k1}, {k2}} {
		for _, g := range nodes {
			if err := g.SetKeys(step); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		time.Sleep(300 * time.Millisecond) // probes and gossip under the new keys
	}
	if err := nodes[2].SetLocal(tunnelAddrOf("n2"), []Workload{{ID: "spiffe://test/rotated"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "update after rotation", func() bool {
		return resolvesTo(nodes, "spiffe://test/rotated", tunnelAddrOf("n2"))
	})
	for _, g := range nodes {
		if got := aliveNames(g); len(got) != 3 {
			t.Errorf("%s sees alive %v after rotation", g.cfg.NodeName, got)
		}
	}
	// A node that only has the old key is no longer admitted.
	old := nodeConfig("old", k1)
	old.Join = []string{nodes[0].GossipAddr()}
	og := startNode(t, old)
	fresh := nodeConfig("fresh", k2)
	fresh.Join = []string{nodes[0].GossipAddr()}
	startNode(t, fresh)
	waitFor(t, 10*time.Second, "fresh node admitted", func() bool { return len(aliveNames(nodes[1])) == 4 })
	if got := aliveNames(nodes[0]); slices.Contains(got, "old") || len(og.Members()) != 1 {
		t.Errorf("old-key node admitted: %v", got)
	}
}

func TestGossip200Workloads(t *testing.T) {
	nodes := startCluster(t, 3)
	var ws []Workload
	for i := range 200 {
		ws = append(ws, Workload{ID: fmt.Sprintf("spiffe://example.org/ns/prod/sa/service-%03d", i), Ports: []int{8443, 9000 + i}})
	}
	if err := nodes[1].SetLocal("10.1.1.1:15008", ws); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 10*time.Second, "200 workloads everywhere", func() bool {
		for _, w := range ws {
			if !resolvesTo(nodes, w.ID, "10.1.1.1:15008") {
				return false
			}
		}
		return true
	})
	t.Logf("200 workloads (%d chunks) propagated in %v", len(splitCatalog(catalog{Workloads: ws}, chunkBudget)), took)
	ms := nodes[2].Members()
	if got := len(ms[1].Workloads); got != 200 {
		t.Errorf("n2 sees %d workloads on n1", got)
	}
	// A late joiner gets all of them by push-pull.
	cfg := nodeConfig("late")
	cfg.Join = []string{nodes[2].GossipAddr()}
	late := startNode(t, cfg)
	waitFor(t, 10*time.Second, "late joiner", func() bool { return resolvesTo([]*Gossip{late}, ws[199].ID, "10.1.1.1:15008") })
}

func TestGossipLifecycleErrors(t *testing.T) {
	g, err := New(nodeConfig("solo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Leave(time.Second); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Leave before Start = %v", err)
	}
	if got := g.Resolve(workloadOf("solo")); !slices.Equal(got, []string{tunnelAddrOf("solo")}) {
		t.Errorf("own workload before Start resolves to %v", got)
	}
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(t.Context()); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start = %v", err)
	}
	ch := g.Subscribe()
	for range 2 {
		if err := g.Shutdown(); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	}
	if err := g.Leave(time.Second); !errors.Is(err, ErrShutdown) {
		t.Errorf("Leave after Shutdown = %v", err)
	}
	if err := g.Start(t.Context()); !errors.Is(err, ErrShutdown) {
		t.Errorf("Start after Shutdown = %v", err)
	}
	for range ch {
	}
	if _, ok := <-g.Subscribe(); ok {
		t.Error("Subscribe after Shutdown returned an open channel")
	}
}

func TestGossipStartsWithSeedsDown(t *testing.T) {
	// The seed is a port nobody listens on; Start must not fail, and a
	// node started later at that address is joined by the retry loop.
	seed := nodeConfig("seed")
	s := startNode(t, seed)
	addr := s.GossipAddr()
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	cfg := nodeConfig("joiner")
	cfg.Join = []string{addr}
	j := startNode(t, cfg)
	seed.BindAddr = addr
	time.Sleep(300 * time.Millisecond)
	s2 := startNode(t, seed)
	took := waitFor(t, 10*time.Second, "late seed joined", func() bool {
		return resolvesTo([]*Gossip{j, s2}, workloadOf("seed"), tunnelAddrOf("seed")) && resolvesTo([]*Gossip{s2}, workloadOf("joiner"), tunnelAddrOf("joiner"))
	})
	t.Logf("joined a late seed after %v", took)
}
