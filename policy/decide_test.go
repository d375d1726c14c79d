package policy

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const td = "spiffe://example.org"

func mustLoad(tb testing.TB, path string) *Policy {
	tb.Helper()
	p, err := Load(path)
	if err != nil {
		tb.Fatalf("Load(%q): %v", path, err)
	}
	return p
}

func mustParse(tb testing.TB, src string) *Policy {
	tb.Helper()
	p, err := Parse("test.hcl", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return p
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestDecide(t *testing.T) {
	p := mustLoad(t, "testdata/decide.hcl")
	// 2026-03-04 is a Wednesday; Berlin is UTC+1 and New York UTC-5 then.
	const wed = "2026-03-04T10:00:00Z"
	allow := func(rule string, audit ...AuditHit) Decision { return Decision{Allow: true, Rule: rule, Audit: audit} }
	deny := func(rule string, audit ...AuditHit) Decision { return Decision{Allow: false, Rule: rule, Audit: audit} }
	wouldDeny := AuditHit{Rule: "audit-would-deny-frontend", WouldAllow: false}
	wouldAllowDev := AuditHit{Rule: "audit-would-allow-dev", WouldAllow: true}

	tests := []struct {
		name     string
		from, to string
		port     int
		at       string
		want     Decision
	}{
		// Literal rule, ports, port 0.
		{"literal allow", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 8443, wed, allow("frontend-to-payments", wouldDeny)},
		{"literal second port", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 9443, wed, allow("frontend-to-payments", wouldDeny)},
		{"literal wrong port", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 80, wed, deny(DefaultRule, wouldDeny)},
		{"port 0 never matches a ports list", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 0, wed, deny(DefaultRule, wouldDeny)},
		{"port above range", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 8443 + 65536, wed, deny(DefaultRule, wouldDeny)},
		{"look-alike prefix", td + "/ns/prod/sa/frontend2", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},
		{"look-alike suffix", td + "/ns/prod/sa/xfrontend", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},
		{"look-alike case", td + "/ns/prod/sa/Frontend", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},
		{"look-alike extra segment", td + "/ns/prod/sa/frontend/x", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},
		{"look-alike trust domain", "spiffe://example.org.evil/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},
		{"look-alike target", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/payments-v2", 8443, wed, deny(DefaultRule, wouldDeny)},

		// Deny wins over allow, whatever the file order; audit never decides.
		{"deny wins over later allow", td + "/ns/dev/sa/tool", td + "/ns/prod/sa/payments", 8443, wed, deny("no-dev-to-prod", wouldAllowDev)},
		{"deny wins over earlier allow", td + "/ns/prod/quarantined", td + "/ns/infra/sa/dns", 53, wed, deny("quarantine")},
		{"first allow in file order names", td + "/ns/prod/sa/api", td + "/ns/infra/sa/dns", 53, wed, allow("all-to-dns")},
		{"audit allow does not allow", td + "/ns/dev/sa/tool", td + "/ns/prod/sa/payments", 0, wed, deny("no-dev-to-prod", wouldAllowDev)},
		{"dev to dev default", td + "/ns/dev/sa/a", td + "/ns/dev/sa/b", 80, wed, deny(DefaultRule)},

		// Globs.
		{"star in middle", td + "/ns/staging/sa/prometheus", td + "/ns/prod/sa/payments", 9100, wed, allow("any-ns-to-metrics")},
		{"star needs one segment", td + "/ns/sa/prometheus", td + "/ns/prod/sa/payments", 9100, wed, deny(DefaultRule)},
		{"glob in segment", td + "/ns/prod/sa/web-canary", td + "/ns/prod/sa/cache", 6379, wed, allow("canaries-to-cache")},
		{"glob in segment look-alike", td + "/ns/prod/sa/web-canary2", td + "/ns/prod/sa/cache", 6379, wed, deny(DefaultRule)},
		{"doublestar at start", td + "/a/b/c/quarantined", td + "/ns/prod/sa/cache", 1, wed, deny("quarantine")},
		{"doublestar at start look-alike", td + "/a/b/c/quarantined2", td + "/ns/prod/sa/cache", 1, wed, deny(DefaultRule)},
		{"doublestar end zero segments", td + "/ns/dev", td + "/ns/prod", 1, wed, deny("no-dev-to-prod")},

		// Partner trust domains.
		{"partner one", "spiffe://partner.example.net/billing/svc", td + "/ns/prod/sa/invoices", 443, wed, allow("partner-billing")},
		{"partner two", "spiffe://other.example.com/billing/svc", td + "/ns/prod/sa/invoices", 443, wed, allow("partner-billing")},
		{"partner unknown domain", "spiffe://evil.example.net/billing/svc", td + "/ns/prod/sa/invoices", 443, wed, deny(DefaultRule)},
		{"partner not our path", "spiffe://partner.example.net/ns/prod/sa/frontend", td + "/ns/prod/sa/payments", 8443, wed, deny(DefaultRule)},

		// Schedules: Berlin office hours, Monday-Friday 08:00-18:00 local.
		{"berlin inside winter", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-04T07:00:00Z", allow("office-hours-berlin")},
		{"berlin before opening winter", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-04T06:59:59Z", deny(DefaultRule)},
		{"berlin last second", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-04T16:59:59Z", allow("office-hours-berlin")},
		{"berlin closed at 18:00", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-04T17:00:00Z", deny(DefaultRule)},
		{"berlin summer time opens an hour earlier in UTC", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-04-01T06:00:00Z", allow("office-hours-berlin")},
		{"berlin summer time closes at 16:00 UTC", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-04-01T16:00:00Z", deny(DefaultRule)},
		{"berlin saturday", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-07T10:00:00Z", deny(DefaultRule)},
		{"berlin monday is sunday in UTC", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-01T23:30:00Z", deny(DefaultRule)},
		// Between 2026-03-08 (US switch) and 2026-03-29 (EU switch) New York is
		// UTC-4 and Berlin still UTC+1.
		{"new york opens at 12:00 UTC on US summer time", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/archive", 1, "2026-03-10T12:00:00Z", allow("office-hours-newyork")},
		{"new york winter 12:00 UTC is 07:00", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/archive", 1, "2026-03-03T12:00:00Z", deny(DefaultRule)},
		{"new york any day", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/archive", 1, "2026-03-07T15:00:00Z", allow("office-hours-newyork")},
		{"berlin in the gap between switches", td + "/ns/prod/sa/reports", td + "/ns/prod/sa/ledger", 1, "2026-03-10T06:30:00Z", deny(DefaultRule)},

		// A window crossing midnight belongs to the day it opens (Friday).
		{"nightly friday evening", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-06T22:00:00Z", allow("nightly-batch")},
		{"nightly saturday morning", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-07T05:59:00Z", allow("nightly-batch")},
		{"nightly saturday 06:00", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-07T06:00:00Z", deny(DefaultRule)},
		{"nightly friday morning", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-06T03:00:00Z", deny(DefaultRule)},
		{"nightly saturday evening", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-07T23:00:00Z", deny(DefaultRule)},
		{"nightly friday afternoon", td + "/ns/batch/sa/etl", td + "/ns/prod/sa/ledger", 1, "2026-03-06T15:00:00Z", deny(DefaultRule)},

		{"weekend saturday", td + "/ns/ops/sa/backup", td + "/ns/prod/sa/ledger", 1, "2026-03-07T00:00:00Z", allow("weekend-only")},
		{"weekend sunday late", td + "/ns/ops/sa/backup", td + "/ns/prod/sa/ledger", 1, "2026-03-08T23:59:59Z", allow("weekend-only")},
		{"weekend monday", td + "/ns/ops/sa/backup", td + "/ns/prod/sa/ledger", 1, "2026-03-09T00:00:00Z", deny(DefaultRule)},

		// Invalid IDs never reach the rules.
		{"invalid from", "spiffe://example.org/ns/dev/", td + "/ns/infra/sa/dns", 53, wed, deny(InvalidIDRule)},
		{"invalid to", td + "/ns/prod/sa/x", "spiffe://example.org", 53, wed, deny(InvalidIDRule)},
		{"empty from", "", td + "/ns/infra/sa/dns", 53, wed, deny(InvalidIDRule)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			got := p.Decide(Request{From: tt.from, To: tt.to, Port: tt.port, At: mustTime(t, tt.at)})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decide = %+v, want %+v", got, want)
			}
		})
	}
}

func TestDecideDefaultAllow(t *testing.T) {
	p := mustParse(t, `
default = "allow"
rule "block" {
  action = "deny"
  from   = ["spiffe://example.org/ns/dev/**"]
  to     = ["spiffe://example.org/ns/prod/**"]
}
rule "audit-all" {
  action = "deny"
  mode   = "audit"
  from   = ["spiffe://example.org/**"]
  to     = ["spiffe://example.org/**"]
}
`)
	tests := []struct {
		name     string
		from, to string
		want     Decision
	}{
		{"default allows", td + "/ns/prod/a", td + "/ns/prod/b", Decision{Allow: true, Rule: DefaultRule, Audit: []AuditHit{{Rule: "audit-all"}}}},
		{"deny rule", td + "/ns/dev/a", td + "/ns/prod/b", Decision{Allow: false, Rule: "block", Audit: []AuditHit{{Rule: "audit-all"}}}},
		{"audit deny does not deny", "spiffe://other.org/a", "spiffe://other.org/b", Decision{Allow: true, Rule: DefaultRule}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(Request{From: tt.from, To: tt.to}); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideFirstDenyNamed(t *testing.T) {
	p := mustParse(t, `
rule "allow-1" {
  action = "allow"
  from = ["spiffe://example.org/**"]
  to   = ["spiffe://example.org/**"]
}
rule "deny-1" {
  action = "deny"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/**"]
}
rule "deny-2" {
  action = "deny"
  from = ["spiffe://example.org/*"]
  to   = ["spiffe://example.org/**"]
}
rule "audit-late" {
  action = "allow"
  mode   = "audit"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/**"]
}
`)
	got := p.Decide(Request{From: td + "/a", To: td + "/b", Port: 1})
	want := Decision{Allow: false, Rule: "deny-1", Audit: []AuditHit{{Rule: "audit-late", WouldAllow: true}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decide = %+v, want %+v", got, want)
	}
}

func TestDenyAll(t *testing.T) {
	p := DenyAll()
	got := p.Decide(Request{From: td + "/a", To: td + "/b", Port: 1})
	if want := (Decision{Rule: DefaultRule}); !reflect.DeepEqual(got, want) {
		t.Errorf("Decide = %+v, want %+v", got, want)
	}
	if p.Source() != "" || p.Version() == "" || len(p.Rules()) != 0 || !p.NextChange(time.Now()).IsZero() {
		t.Errorf("DenyAll: Source %q, Version %q, %d rules", p.Source(), p.Version(), len(p.Rules()))
	}
}

func TestDecideNowWhenAtIsZero(t *testing.T) {
	p := mustParse(t, `
rule "always" {
  action = "allow"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/b"]
  schedule {
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
  }
}
`)
	if got := p.Decide(Request{From: td + "/a", To: td + "/b"}); !got.Allow || got.Rule != "always" {
		t.Errorf("Decide = %+v, want allow by always", got)
	}
}

func TestVersionAndRules(t *testing.T) {
	src := []byte(`rule "r" {
  action = "allow"
  mode   = "audit"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/b"]
}
`)
	a, err := Parse("a.hcl", src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("b.hcl", append([]byte(nil), src...))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("a.hcl", append(src, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version() != b.Version() || a.Version() == c.Version() || len(a.Version()) != 12 {
		t.Errorf("versions %q %q %q: want equal for equal bytes, different otherwise, 12 chars", a.Version(), b.Version(), c.Version())
	}
	if a.Source() != "a.hcl" {
		t.Errorf("Source = %q, want a.hcl", a.Source())
	}
	want := []RuleInfo{{Name: "r", Action: "allow", Mode: "audit", Pos: "a.hcl:1:1"}}
	if got := a.Rules(); !reflect.DeepEqual(got, want) {
		t.Errorf("Rules = %+v, want %+v", got, want)
	}
}

// decideLinear is the definition of decide without the index: every rule
// in file order.
func decideLinear(p *Policy, r Request, anyTime bool) Decision {
	if !validID(r.From) || !validID(r.To) {
		return Decision{Rule: InvalidIDRule}
	}
	var deny, allow *rule
	var audit []AuditHit
	for i := range p.rules {
		ru := &p.rules[i]
		if !ru.matches(&r, anyTime) {
			continue
		}
		switch {
		case ru.audit:
			audit = append(audit, AuditHit{Rule: ru.name, WouldAllow: ru.allow})
		case ru.allow && allow == nil:
			allow = ru
		case !ru.allow && deny == nil:
			deny = ru
		}
	}
	switch {
	case deny != nil:
		return Decision{Rule: deny.name, Audit: audit}
	case allow != nil:
		return Decision{Allow: true, Rule: allow.name, Audit: audit}
	}
	return Decision{Allow: p.defaultAllow, Rule: DefaultRule, Audit: audit}
}

// TestDecideIndexMatchesLinear compares decide with decideLinear on every
// pair of IDs the policies mention, on several ports and times, and with
// every schedule window open (anyTime).
func TestDecideIndexMatchesLinear(t *testing.T) {
	for _, p := range []*Policy{mustLoad(t, "testdata/decide.hcl"), bigPolicy(t)} {
		ids := map[string]bool{td + "/ns/prod/sa/unknown": true, td + "/ns/dev7/sa/x": true, td + "/ns/team11/sa/web-canary": true}
		for _, ru := range p.rules {
			for _, pt := range append(append([]*pattern{}, ru.from...), ru.to...) {
				id := strings.ReplaceAll(strings.ReplaceAll(pt.src, "/**", "/x/y"), "*", "z")
				ids[id] = true
			}
		}
		// Keep the test fast: at most 40 IDs, spread over the file.
		list := slices.Sorted(maps.Keys(ids))
		if step := len(list)/40 + 1; step > 1 {
			var sampled []string
			for i := 0; i < len(list); i += step {
				sampled = append(sampled, list[i])
			}
			list = sampled
		}
		n := 0
		for _, from := range list {
			for _, to := range list {
				for _, port := range []int{0, 443, 8443, 9100, 9011} {
					for _, at := range []string{"2026-03-02T08:00:00Z", "2026-03-06T23:00:00Z", "2026-03-08T12:00:00Z"} {
						r := Request{From: from, To: to, Port: port, At: mustTime(t, at)}
						if got, want := p.Decide(r), decideLinear(p, r, false); !reflect.DeepEqual(got, want) {
							t.Fatalf("Decide(%+v) = %+v, linear scan says %+v", r, got, want)
						}
						n++
					}
					r := Request{From: from, To: to, Port: port}
					if got, want := p.decide(r, true), decideLinear(p, r, true); !reflect.DeepEqual(got, want) {
						t.Fatalf("decide(%+v, anyTime) = %+v, linear scan says %+v", r, got, want)
					}
				}
			}
		}
		t.Logf("%d requests agree", n)
	}
}

// TestDecideConcurrent runs Decide from several goroutines on one Policy;
// with -race it proves Decide only reads.
func TestDecideConcurrent(t *testing.T) {
	p := mustLoad(t, "testdata/decide.hcl")
	reqs := []Request{
		{From: td + "/ns/prod/sa/frontend", To: td + "/ns/prod/sa/payments", Port: 8443},
		{From: td + "/ns/dev/sa/tool", To: td + "/ns/prod/sa/payments", Port: 8443},
		{From: td + "/ns/prod/sa/reports", To: td + "/ns/prod/sa/ledger", Port: 1},
	}
	want := make([]Decision, len(reqs))
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	for i := range reqs {
		reqs[i].At = at
		want[i] = p.Decide(reqs[i])
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(reqs)
				if got := p.Decide(reqs[i]); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("Decide(%+v) = %+v, want %+v", reqs[i], got, want[i])
					return
				}
				p.NextChange(at)
			}
		})
	}
	wg.Wait()
}
