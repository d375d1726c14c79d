package discovery

import (
	"slices"
	"testing"
)

type fixed map[string][]string

func (f fixed) Resolve(target string) []string { return f[target] }

func TestStatic(t *testing.T) {
	s := NewStatic([]Peer{
		{Name: "b", Address: "10.0.0.2:15008", Workloads: []string{"spiffe://x/pay", "spiffe://x/db"}},
		{Name: "c", Address: "10.0.0.3:15008", Workloads: []string{"spiffe://x/pay", "spiffe://x/pay"}},
		{Name: "no-address", Workloads: []string{"spiffe://x/pay"}},
	})
	tests := []struct {
		name, target string
		want         []string
	}{
		{name: "two peers in config order", target: "spiffe://x/pay", want: []string{"10.0.0.2:15008", "10.0.0.3:15008"}},
		{name: "one peer", target: "spiffe://x/db", want: []string{"10.0.0.2:15008"}},
		{name: "unknown", target: "spiffe://x/none", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Resolve(tt.target); !slices.Equal(got, tt.want) {
				t.Errorf("Resolve(%q) = %v, want %v", tt.target, got, tt.want)
			}
		})
	}
	got := s.Resolve("spiffe://x/pay")
	got[0] = "mutated"
	if s.Resolve("spiffe://x/pay")[0] != "10.0.0.2:15008" {
		t.Error("caller mutation leaked into the table")
	}
	s.Set([]Peer{{Address: "10.0.0.9:1", Workloads: []string{"spiffe://x/db"}}})
	if got := s.Resolve("spiffe://x/pay"); got != nil {
		t.Errorf("after Set, pay = %v", got)
	}
	if got := s.Resolve("spiffe://x/db"); !slices.Equal(got, []string{"10.0.0.9:1"}) {
		t.Errorf("after Set, db = %v", got)
	}
}

func TestMulti(t *testing.T) {
	a := fixed{"w": {"1:1", "2:2"}, "only-a": {"9:9"}}
	b := fixed{"w": {"2:2", "3:3", "1:1"}, "only-b": {"8:8"}}
	m := Multi(a, nil, b)
	tests := []struct {
		name, target string
		want         []string
	}{
		{name: "merged without duplicates, first resolver first", target: "w", want: []string{"1:1", "2:2", "3:3"}},
		{name: "first only", target: "only-a", want: []string{"9:9"}},
		{name: "second only", target: "only-b", want: []string{"8:8"}},
		{name: "none", target: "x", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Resolve(tt.target); !slices.Equal(got, tt.want) {
				t.Errorf("Resolve(%q) = %v, want %v", tt.target, got, tt.want)
			}
		})
	}
	if got := Multi().Resolve("w"); got != nil {
		t.Errorf("empty Multi = %v", got)
	}
}
