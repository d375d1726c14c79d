package discovery

import (
	"testing"
	"time"
)

// TestGossipPartitionHeals cuts one member off (it switches to a key the
// others do not have), waits until both sides hold each other dead and
// memberlist has stopped gossiping to the dead, then restores the key: the
// rejoin round (seeds and dead members) must merge the cluster again.
func TestGossipPartitionHeals(t *testing.T) {
	k1, k2 := testKey(1), testKey(2)
	nodes := startCluster(t, 3, k1)
	waitFor(t, 10*time.Second, "cluster", func() bool { return resolvesTo(nodes, workloadOf("n2"), tunnelAddrOf("n2")) })

	if err := nodes[2].SetKeys([][]byte{k2}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "both sides see the other dead", func() bool {
		return resolvesTo(nodes[:2], workloadOf("n2")) && resolvesTo(nodes[2:], workloadOf("n0")) && resolvesTo(nodes[2:], workloadOf("n1"))
	})
	time.Sleep(fastTiming().GossipToTheDeadTime + 500*time.Millisecond)

	if err := nodes[2].SetKeys([][]byte{k1}); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 15*time.Second, "partition healed", func() bool {
		for _, n := range []string{"n0", "n1", "n2"} {
			if !resolvesTo(nodes, workloadOf(n), tunnelAddrOf(n)) {
				return false
			}
		}
		return true
	})
	t.Logf("partition healed %v after the key was restored", took)
}
