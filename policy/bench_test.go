package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// bigPolicy is a 200-rule policy shaped like a real mesh: mostly literal
// service-to-service allows with ports, some namespace globs, a few deny
// rules, a few schedules, and audit rules that do not match the benchmark
// request (so Decide must not allocate).
func bigPolicy(tb testing.TB) *Policy {
	tb.Helper()
	var b strings.Builder
	b.WriteString("default = \"deny\"\n")
	for i := range 200 {
		action, mode, extra := "allow", "enforce", ""
		from := fmt.Sprintf(`"spiffe://example.org/ns/prod/sa/svc%d"`, i)
		to := fmt.Sprintf(`"spiffe://example.org/ns/prod/sa/svc%d"`, i+1)
		switch {
		case i%50 == 7:
			action, from, to = "deny", fmt.Sprintf(`"spiffe://example.org/ns/dev%d/**"`, i), `"spiffe://example.org/ns/prod/**"`
		case i%40 == 3:
			mode = "audit"
			from = fmt.Sprintf(`"spiffe://example.org/ns/audit%d/*"`, i)
		case i%25 == 5:
			extra = "  schedule {\n    days = [\"mon\", \"tue\"]\n    hours = \"08:00-18:00\"\n    timezone = \"Europe/Berlin\"\n  }\n"
		case i%10 == 1:
			from = fmt.Sprintf(`"spiffe://example.org/ns/team%d/sa/*-canary", "spiffe://partner.net/**/svc%d"`, i, i)
		}
		fmt.Fprintf(&b, "rule \"r%d\" {\n  action = %q\n  mode = %q\n  from = [%s]\n  to = [%s]\n  ports = [%d, 8443]\n%s}\n",
			i, action, mode, from, to, 9000+i, extra)
	}
	return mustParse(tb, b.String())
}

func BenchmarkDecide200Rules(b *testing.B) {
	p := bigPolicy(b)
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	reqs := []struct {
		name string
		req  Request
		want bool
	}{
		{"last-rule-allow", Request{From: td + "/ns/prod/sa/svc199", To: td + "/ns/prod/sa/svc200", Port: 8443, At: at}, true},
		{"first-rule-allow", Request{From: td + "/ns/prod/sa/svc0", To: td + "/ns/prod/sa/svc1", Port: 8443, At: at}, true},
		{"no-match-default", Request{From: td + "/ns/prod/sa/unknown", To: td + "/ns/prod/sa/svc9", Port: 8443, At: at}, false},
		{"deny-glob", Request{From: td + "/ns/dev7/sa/x", To: td + "/ns/prod/sa/svc8", Port: 8443, At: at}, false},
	}
	for _, r := range reqs {
		b.Run(r.name, func(b *testing.B) {
			if d := p.Decide(r.req); d.Allow != r.want {
				b.Fatalf("Decide = %+v, want allow=%v", d, r.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(r.req)
			}
		})
	}
}

// TestDecideDoesNotAllocate pins the hot-path promise: no allocation when
// no audit rule matches, even with a scheduled rule and At unset.
func TestDecideDoesNotAllocate(t *testing.T) {
	p := bigPolicy(t)
	reqs := []Request{
		{From: td + "/ns/prod/sa/svc199", To: td + "/ns/prod/sa/svc200", Port: 8443},
		{From: td + "/ns/prod/sa/svc5", To: td + "/ns/prod/sa/svc6", Port: 8443},
		{From: td + "/ns/prod/sa/unknown", To: td + "/ns/prod/sa/svc9", Port: 8443},
		{From: td + "/ns/dev7/sa/x", To: td + "/ns/prod/sa/svc8", Port: 0},
		{From: "bogus", To: td + "/ns/prod/sa/svc8", Port: 1},
	}
	for _, r := range reqs {
		if n := testing.AllocsPerRun(50, func() { p.Decide(r) }); n != 0 {
			t.Errorf("Decide(%+v) allocates %v times, want 0", r, n)
		}
	}
}
