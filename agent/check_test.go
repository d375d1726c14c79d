package agent

import (
	"slices"
	"testing"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/policy"
)

// TestUnreachableUpstreams: an upstream is warned about when the policy
// denies it at every time, on its port when it names one.
func TestUnreachableUpstreams(t *testing.T) {
	pol, err := policy.Parse("p.hcl", []byte(`
rule "web-to-api" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/web"]
  to     = ["spiffe://example.org/ns/prod/sa/api"]
  ports  = [8443]
}
`))
	if err != nil {
		t.Fatal(err)
	}
	up := func(name, target string, port int) config.Upstream {
		return config.Upstream{Name: name, Target: target, Port: port}
	}
	cfg := &config.Config{Workloads: []config.Workload{{Name: "web", ID: "spiffe://example.org/ns/prod/sa/web", Upstreams: []config.Upstream{
		up("api", "spiffe://example.org/ns/prod/sa/api", 8443),
		up("api-any-port", "spiffe://example.org/ns/prod/sa/api", 0),
		up("api-wrong-port", "spiffe://example.org/ns/prod/sa/api", 9000),
		up("typo", "spiffe://example.org/ns/prod/sa/apl", 8443),
	}}}}
	want := []string{
		`upstream "api-wrong-port" of workload "web": the policy denies spiffe://example.org/ns/prod/sa/web -> spiffe://example.org/ns/prod/sa/api on port 9000 at every time`,
		`upstream "typo" of workload "web": the policy denies spiffe://example.org/ns/prod/sa/web -> spiffe://example.org/ns/prod/sa/apl on port 8443 at every time`,
	}
	if got := unreachableUpstreams(cfg, pol); !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%q\nwant\n%q", got, want)
	}
}
