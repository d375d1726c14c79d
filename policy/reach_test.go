package policy

import "testing"

func TestMayAllow(t *testing.T) {
	const src = `
default = "deny"
rule "web-to-api" {
  action = "allow"
  from = ["spiffe://example.org/ns/prod/sa/web"]
  to   = ["spiffe://example.org/ns/prod/sa/api"]
  ports = [8443]
}
rule "night" {
  action = "allow"
  from = ["spiffe://example.org/ns/prod/sa/batch"]
  to   = ["spiffe://example.org/ns/prod/sa/api"]
  schedule {
    hours = "01:00-02:00"
  }
}
rule "no-dev" {
  action = "deny"
  from = ["spiffe://example.org/ns/dev/**"]
  to   = ["spiffe://example.org/ns/prod/**"]
}
rule "dev-web-weekends" {
  action = "deny"
  from = ["spiffe://example.org/ns/prod/sa/web"]
  to   = ["spiffe://example.org/ns/prod/sa/db"]
  ports = [5432]
}
rule "watch" {
  action = "allow"
  mode = "audit"
  from = ["spiffe://example.org/ns/prod/sa/web"]
  to   = ["spiffe://example.org/ns/prod/sa/cache"]
}
`
	p, err := Parse("p.hcl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to string
		port           int
		want           bool
	}{
		{"allowed on a port", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/api", 0, true},
		{"allowed in a window", "spiffe://example.org/ns/prod/sa/batch", "spiffe://example.org/ns/prod/sa/api", 0, true},
		{"denied always", "spiffe://example.org/ns/dev/sa/x", "spiffe://example.org/ns/prod/sa/api", 0, false},
		{"no allow rule, default deny", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/db", 0, false},
		{"audit allow does not count", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/cache", 0, false},
		{"typo in the target", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/apl", 0, false},
		{"invalid ID", "web", "spiffe://example.org/ns/prod/sa/api", 0, false},
		{"allowed port", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/api", 8443, true},
		{"port no rule allows", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/api", 9000, false},
		{"port denied by a port rule", "spiffe://example.org/ns/prod/sa/web", "spiffe://example.org/ns/prod/sa/db", 5432, false},
		{"any port of a rule without ports", "spiffe://example.org/ns/prod/sa/batch", "spiffe://example.org/ns/prod/sa/api", 7, true},
		{"denied on every port", "spiffe://example.org/ns/dev/sa/x", "spiffe://example.org/ns/prod/sa/api", 8443, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.MayAllow(tc.from, tc.to, tc.port); got != tc.want {
				t.Fatalf("MayAllow = %v, want %v", got, tc.want)
			}
		})
	}
	if !mustParse(t, `default = "allow"`).MayAllow("spiffe://a.org/x", "spiffe://a.org/y", 0) {
		t.Fatal("default allow: MayAllow must be true")
	}
}
