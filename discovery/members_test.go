package discovery

import (
	"encoding/json"
	"testing"
)

// TestMemberJSON pins the admin API field names (DESIGN §8: snake_case).
func TestMemberJSON(t *testing.T) {
	m := Member{Name: "a", GossipAddr: "10.0.0.1:7946", TunnelAddr: "10.0.0.1:15008", State: StateAlive, Self: true,
		Workloads: []Workload{{ID: "spiffe://x/a", Ports: []int{8443}}, {ID: "spiffe://x/b"}}}
	b, err := json.Marshal(Event{Type: EventDead, Member: m})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"dead","member":{"name":"a","gossip_addr":"10.0.0.1:7946","tunnel_addr":"10.0.0.1:15008","state":"alive","self":true,"workloads":[{"id":"spiffe://x/a","ports":[8443]},{"id":"spiffe://x/b"}]}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
