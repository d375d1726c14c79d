package discovery

import (
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

// newUnstarted returns a Gossip whose delegates are driven by hand.
func newUnstarted(tb testing.TB, name string) (*Gossip, *delegate, *events) {
	tb.Helper()
	g, err := New(nodeConfig(name))
	if err != nil {
		tb.Fatal(err)
	}
	return g, &delegate{g: g}, &events{g: g}
}

func metaBytes(tb testing.TB, m nodeMeta) []byte {
	tb.Helper()
	b, err := encodeMeta(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDelegateIgnoresBadMessages(t *testing.T) {
	g, d, _ := newUnstarted(t, "self")
	tests := []struct {
		name        string
		in          []byte
		wantUnknown uint64
		wantErrors  uint64
	}{
		{name: "future version", in: []byte{9, msgChunk, 1, 2, 3}, wantUnknown: 1},
		{name: "garbage", in: []byte{wireVersion, msgChunk, 0xff}, wantUnknown: 1, wantErrors: 1},
		{name: "empty", in: nil, wantUnknown: 1, wantErrors: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.NotifyMsg(tt.in)
			d.MergeRemoteState(tt.in, false)
			st := g.Stats()
			if st.UnknownVersion != 2*tt.wantUnknown || st.DecodeErrors != 2*tt.wantErrors {
				t.Errorf("unknown %d, errors %d", st.UnknownVersion, st.DecodeErrors)
			}
		})
	}
}

func TestDelegateChunkAssembly(t *testing.T) {
	g, d, ev := newUnstarted(t, "self")
	ev.NotifyJoin(&memberlist.Node{Name: "peer", Addr: net.IPv4(127, 0, 0, 9), Port: 7946, Meta: metaBytes(t, nodeMeta{Gen: 5, TunnelAddr: "10.0.0.9:15008"})})
	var ws []Workload
	for i := range 60 {
		ws = append(ws, Workload{ID: fmt.Sprintf("spiffe://test/w%02d-%s", i, strings.Repeat("x", 20))})
	}
	chunks := splitCatalog(catalog{Node: "peer", Gen: 5, TunnelAddr: "10.0.0.9:15008", Workloads: ws}, chunkBudget)
	if len(chunks) < 2 {
		t.Fatalf("want several chunks, got %d", len(chunks))
	}
	// Deliver in reverse, with a duplicate and a stale generation mixed in.
	stale := splitCatalog(catalog{Node: "peer", Gen: 4, TunnelAddr: "10.9.9.9:1", Workloads: ws[:1]}, chunkBudget)[0]
	d.NotifyMsg(encodeChunk(stale))
	if got := g.Resolve(ws[0].ID); !slices.Equal(got, []string{"10.9.9.9:1"}) {
		t.Fatalf("gen 4 catalog: %v", got)
	}
	for i := len(chunks) - 1; i >= 0; i-- {
		if got := g.Resolve(ws[len(ws)-1].ID); got != nil {
			t.Fatalf("resolved before the catalog was complete: %v", got)
		}
		d.NotifyMsg(encodeChunk(chunks[i]))
		d.NotifyMsg(encodeChunk(chunks[i]))
	}
	d.NotifyMsg(encodeChunk(stale))
	for _, w := range ws {
		if got := g.Resolve(w.ID); !slices.Equal(got, []string{"10.0.0.9:15008"}) {
			t.Fatalf("Resolve(%s) = %v", w.ID, got)
		}
	}
	// Our own catalog relayed back by others never overrides ours.
	d.NotifyMsg(encodeChunk(chunk{catalog: catalog{Node: "self", Gen: ^uint64(0), TunnelAddr: "6.6.6.6:1", Workloads: []Workload{{ID: workloadOf("self")}}}, Total: 1}))
	if got := g.Resolve(workloadOf("self")); !slices.Equal(got, []string{tunnelAddrOf("self")}) {
		t.Errorf("own workload = %v", got)
	}
	// A dead member stops resolving; a leave notice turns dead into left.
	ch := g.Subscribe()
	t.Cleanup(func() { _ = g.Shutdown() })
	ev.NotifyLeave(&memberlist.Node{Name: "peer", Addr: net.IPv4(127, 0, 0, 9), Port: 7946, Meta: metaBytes(t, nodeMeta{Gen: 5, TunnelAddr: "10.0.0.9:15008"})})
	if got := g.Resolve(ws[0].ID); got != nil {
		t.Errorf("dead member resolves: %v", got)
	}
	d.NotifyMsg(encodeLeave(leaveNotice{Node: "peer", Gen: 5}))
	var types []EventType
	for range 2 {
		e := <-ch
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []EventType{EventDead, EventLeave}) || g.Members()[0].State != StateLeft {
		t.Errorf("events %v, members %+v", types, g.Members())
	}
}

func TestDelegateNodeMetaFitsLimit(t *testing.T) {
	cfg := nodeConfig("self")
	cfg.TunnelAddr = strings.Repeat("h", maxAddrLen-6) + ":15008"
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := (&delegate{g: g}).NodeMeta(512)
	if len(b) == 0 || len(b) > 512 {
		t.Fatalf("metadata is %d bytes", len(b))
	}
	if m, err := decodeMeta(b); err != nil || m.TunnelAddr != cfg.TunnelAddr {
		t.Errorf("decoded %+v, %v", m, err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte(base64.StdEncoding.EncodeToString(testKey(1)) + "\n# c\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("not base64"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseKeys("f", data)
		if err != nil {
			return
		}
		// Round trip: writing the keys back out parses to the same keys.
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		}
		again, err := parseKeys("f", []byte(b.String()))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("round trip: %v, %d keys vs %d", err, len(again), len(keys))
		}
		for i := range keys {
			if string(again[i]) != string(keys[i]) {
				t.Fatalf("key %d changed", i)
			}
		}
	})
}

func BenchmarkResolve(b *testing.B) {
	g, d, ev := newUnstarted(b, "self")
	for n := range 100 {
		name := fmt.Sprintf("peer%03d", n)
		ev.NotifyJoin(&memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: uint16(1000 + n)})
		var ws []Workload
		for i := range 20 {
			ws = append(ws, Workload{ID: fmt.Sprintf("spiffe://test/%s/w%d", name, i)})
		}
		d.NotifyMsg(encodeChunk(chunk{catalog: catalog{Node: name, Gen: 1, TunnelAddr: tunnelAddrOf(name), Workloads: ws}, Total: 1}))
	}
	target := "spiffe://test/peer050/w7"
	if len(g.Resolve(target)) != 1 {
		b.Fatal("not resolvable")
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = g.Resolve(target)
		}
	})
}
