package policy

import (
	"testing"
)

func TestLoadExample(t *testing.T) {
	p, err := Load("testdata/example.hcl")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := len(p.Rules()); got != 2 {
		t.Fatalf("Rules() = %d rules, want 2", got)
	}
	for _, r := range p.RunTests() {
		if !r.Pass {
			t.Errorf("test %q failed: %s", r.Name, r.failure())
		}
	}
}
