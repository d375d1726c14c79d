package discovery

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// normalize maps empty slices to nil so decoded values compare equal.
func normalize(ws []Workload) []Workload {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Workload, len(ws))
	for i, w := range ws {
		out[i] = Workload{ID: w.ID}
		if len(w.Ports) > 0 {
			out[i].Ports = w.Ports
		}
	}
	return out
}

func normalizeMessage(m message) message {
	if m.Chunk != nil {
		c := *m.Chunk
		c.Workloads = normalize(c.Workloads)
		m.Chunk = &c
	}
	if m.State != nil {
		st := make([]catalog, len(m.State))
		for i, c := range m.State {
			c.Workloads = normalize(c.Workloads)
			st[i] = c
		}
		m.State = st
	}
	return m
}

func encodeMessage(m message) []byte {
	switch {
	case m.Chunk != nil:
		return encodeChunk(*m.Chunk)
	case m.State != nil:
		return encodeState(m.State)
	case m.Leave != nil:
		return encodeLeave(*m.Leave)
	default:
		return encodePull(*m.Pull)
	}
}

var sampleWorkloads = []Workload{{ID: "spiffe://example.org/ns/prod/sa/payments", Ports: []int{8443, 65535}}, {ID: "spiffe://example.org/a"}}

func TestCodecRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		msg  message
	}{
		{name: "chunk", msg: message{Chunk: &chunk{catalog: catalog{Node: "a", Gen: 1 << 62, TunnelAddr: "10.0.0.1:15008", GossipAddr: "10.0.0.1:7946", Workloads: sampleWorkloads}, Index: 2, Total: 3}}},
		{name: "empty chunk", msg: message{Chunk: &chunk{catalog: catalog{Node: "a"}, Total: 1}}},
		{name: "state", msg: message{State: []catalog{{Node: "a", Gen: 5, TunnelAddr: "h:1", Workloads: sampleWorkloads}, {Node: "b"}}}},
		{name: "empty state", msg: message{State: []catalog{}}},
		{name: "pull", msg: message{Pull: &pullRequest{From: "a", Node: "b", Gen: 7}}},
		{name: "leave", msg: message{Leave: &leaveNotice{Node: "a", Gen: 9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMessage(encodeMessage(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if want := normalizeMessage(tt.msg); !reflect.DeepEqual(normalizeMessage(got), want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	good := encodeChunk(chunk{catalog: catalog{Node: "a", Gen: 1, Workloads: sampleWorkloads}, Total: 1})
	tests := []struct {
		name    string
		in      []byte
		wantErr string
		wantIs  error
	}{
		{name: "empty", in: nil, wantErr: "discovery: malformed message: truncated", wantIs: ErrMalformed},
		{name: "future version", in: []byte{2, msgChunk, 0xff}, wantErr: "discovery: unknown wire format version 2", wantIs: ErrUnknownVersion},
		{name: "unknown type", in: []byte{wireVersion, 99}, wantErr: "discovery: malformed message: unknown message type 99", wantIs: ErrMalformed},
		{name: "truncated", in: good[:len(good)-3], wantErr: "discovery: malformed message: truncated workload id", wantIs: ErrMalformed},
		{name: "trailing", in: append(append([]byte(nil), good...), 0), wantErr: "discovery: malformed message: 1 trailing bytes", wantIs: ErrMalformed},
		{name: "index beyond total", in: encodeChunk(chunk{catalog: catalog{Node: "a"}, Index: 3, Total: 2}), wantErr: "discovery: malformed message: chunk 3 of 2", wantIs: ErrMalformed},
		{name: "port 0", in: encodeChunk(chunk{catalog: catalog{Node: "a", Workloads: []Workload{{ID: "x", Ports: []int{0}}}}, Total: 1}), wantErr: "discovery: malformed message: port 0", wantIs: ErrMalformed},
		{name: "port too big", in: encodeChunk(chunk{catalog: catalog{Node: "a", Workloads: []Workload{{ID: "x", Ports: []int{70000}}}}, Total: 1}), wantErr: "discovery: malformed message: port 70000 exceeds limit 65535", wantIs: ErrMalformed},
		{name: "empty node", in: encodeChunk(chunk{Total: 1}), wantErr: "discovery: malformed message: empty node name", wantIs: ErrMalformed},
		{name: "gossip address a name", in: encodeChunk(chunk{catalog: catalog{Node: "a", GossipAddr: "evil.example:7946"}, Total: 1}),
			wantErr: `discovery: malformed message: gossip address "evil.example:7946" is not ip:port`, wantIs: ErrMalformed},
		{name: "empty id", in: encodeChunk(chunk{catalog: catalog{Node: "a", Workloads: []Workload{{}}}, Total: 1}), wantErr: "discovery: malformed message: empty workload id", wantIs: ErrMalformed},
		{name: "huge workload count", in: []byte{wireVersion, msgChunk, 1, 'a', 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x7f}, wantErr: "discovery: malformed message: workload count 268435455 exceeds limit 4096", wantIs: ErrMalformed},
		{name: "too long id", in: encodeChunk(chunk{catalog: catalog{Node: "a", Workloads: []Workload{{ID: strings.Repeat("x", maxIDLen+1)}}}, Total: 1}), wantErr: "discovery: malformed message: workload id length 2049 exceeds limit 2048", wantIs: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeMessage(tt.in)
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	long := nodeMeta{Leaving: true, Gen: ^uint64(0), TunnelAddr: strings.Repeat("h", maxAddrLen)}
	b, err := encodeMeta(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxMetaBytes {
		t.Fatalf("largest metadata is %d bytes", len(b))
	}
	got, err := decodeMeta(b)
	if err != nil || got != long {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr string
	}{
		{name: "future version", in: []byte{9, 0, 0, 0}, wantErr: "discovery: unknown wire format version 9"},
		{name: "unknown flag", in: []byte{wireVersion, 2, 0, 0}, wantErr: "discovery: malformed message: unknown metadata flags 0x2"},
		{name: "empty", in: []byte{}, wantErr: "discovery: malformed message: truncated"},
		{name: "too large", in: make([]byte, 600), wantErr: "discovery: message too large: node metadata is 600 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeMeta(tt.in); err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSplitCatalog(t *testing.T) {
	var ws []Workload
	for i := range 200 {
		ws = append(ws, Workload{ID: fmt.Sprintf("spiffe://example.org/ns/prod/sa/service-%03d", i), Ports: []int{8443}})
	}
	ws = append(ws, Workload{ID: "spiffe://example.org/" + strings.Repeat("x", 1500)}) // alone in its chunk
	c := catalog{Node: "node", Gen: 9, TunnelAddr: "10.0.0.1:15008", Workloads: ws}
	chunks := splitCatalog(c, chunkBudget)
	var joined []Workload
	for i, ch := range chunks {
		if ch.Index != i || ch.Total != len(chunks) || ch.Gen != 9 || ch.Node != "node" {
			t.Fatalf("chunk %d header %+v", i, ch)
		}
		if n := len(encodeChunk(ch)); n > chunkBudget && len(ch.Workloads) > 1 {
			t.Errorf("chunk %d is %d bytes with %d workloads", i, n, len(ch.Workloads))
		}
		joined = append(joined, ch.Workloads...)
	}
	if !reflect.DeepEqual(joined, ws) {
		t.Error("chunks do not add up to the catalog")
	}
	if got := splitCatalog(catalog{Node: "n"}, chunkBudget); len(got) != 1 || got[0].Total != 1 {
		t.Errorf("empty catalog: %+v", got)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeChunk(chunk{catalog: catalog{Node: "a", Gen: 3, TunnelAddr: "h:1", Workloads: sampleWorkloads}, Index: 1, Total: 2}))
	f.Add(encodeState([]catalog{{Node: "a", Gen: 5, Workloads: sampleWorkloads}, {Node: "b"}}))
	f.Add(encodePull(pullRequest{From: "a", Node: "b", Gen: 1}))
	f.Add(encodeLeave(leaveNotice{Node: "a", Gen: 2}))
	f.Add([]byte{2, 1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		// Round trip: what decodes re-encodes to the same value.
		again, err := decodeMessage(encodeMessage(m))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalizeMessage(again), normalizeMessage(m)) {
			t.Fatalf("round trip changed %+v into %+v", m, again)
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []nodeMeta{{}, {Leaving: true, Gen: 1 << 40, TunnelAddr: "10.0.0.1:15008"}} {
		b, _ := encodeMeta(m)
		f.Add(b)
	}
	f.Add([]byte{7})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		enc, err := encodeMeta(m)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if again, err := decodeMeta(enc); err != nil || again != m {
			t.Fatalf("round trip %+v -> %+v, %v", m, again, err)
		}
	})
}
