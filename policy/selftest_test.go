package policy

import (
	"bytes"
	"testing"
	"time"
)

// setClock makes Decide read at as the current time for the rest of the
// test. Tests that call it must not run in parallel.
func setClock(tb testing.TB, at time.Time) *int {
	tb.Helper()
	reads := new(int)
	old := clock
	clock = func() time.Time { *reads++; return at }
	tb.Cleanup(func() { clock = old })
	return reads
}

// clocks are instants inside and outside the office-hours window of
// testdata/design.hcl (mon-fri 08:00-18:00 Europe/Berlin).
var clocks = []struct{ name, at string }{
	{"weekday in office hours", "2026-03-04T10:00:00+01:00"},
	{"weekday at night", "2026-03-04T03:00:00+01:00"},
	{"weekday just after closing", "2026-03-04T18:00:00+01:00"},
	{"saturday noon", "2026-03-07T12:00:00+01:00"},
	{"sunday in summer time", "2026-07-05T23:30:00+02:00"},
}

// TestDesignExampleAnyTime: the example of DESIGN §6, verbatim, loads and
// passes `policy test` whatever the time. Its test has no `at` and its rule
// has an office-hours schedule: a test without `at` is decided as if every
// window were open, and never reads the clock.
func TestDesignExampleAnyTime(t *testing.T) {
	for _, c := range clocks {
		t.Run(c.name, func(t *testing.T) {
			reads := setClock(t, mustTime(t, c.at))
			if _, err := Load("testdata/design.hcl"); err != nil {
				t.Fatalf("Load: %v", err)
			}
			var out, errOut bytes.Buffer
			code := Test(&out, &errOut, "testdata/design.hcl")
			const want = "PASS frontend can pay\nok: 1 of 1 tests passed\n"
			if code != 0 || out.String() != want || errOut.Len() != 0 {
				t.Errorf("Test = %d, stdout %q, stderr %q; want 0, %q, nothing", code, out.String(), errOut.String(), want)
			}
			if *reads != 0 {
				t.Errorf("the clock was read %d times by tests without `at`", *reads)
			}
		})
	}
}

// TestDecideWithoutAtIsLive: outside tests, a request without At is
// decided at the current time (the agent's and `policy check`'s question):
// the same rule that the test above sees open is closed at night.
func TestDecideWithoutAtIsLive(t *testing.T) {
	p := mustLoad(t, "testdata/design.hcl")
	req := Request{From: td + "/ns/prod/sa/frontend", To: td + "/ns/prod/sa/payments", Port: 8443}
	for _, c := range clocks {
		t.Run(c.name, func(t *testing.T) {
			at := mustTime(t, c.at)
			setClock(t, at)
			open := c.name == "weekday in office hours"
			if got := p.Decide(req); got.Allow != open {
				t.Errorf("Decide at %v = %+v, want allow %v", at, got, open)
			}
		})
	}
}

// TestTestBlockAt: a test with `at` sees the schedule as it is at that
// instant, open or closed; one without sees every window open, including a
// scheduled deny rule's.
func TestTestBlockAt(t *testing.T) {
	const src = `
rule "office-hours" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
  schedule {
    days     = ["mon", "tue", "wed", "thu", "fri"]
    hours    = "08:00-18:00"
    timezone = "Europe/Berlin"
  }
}
rule "maintenance" {
  action = "deny"
  from   = ["spiffe://example.org/**"]
  to     = ["spiffe://example.org/c"]
  schedule {
    days  = ["sun"]
    hours = "02:00-04:00"
  }
}
rule "c-open" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/c"]
}
test "inside the window" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  at     = "2026-03-04T10:00:00+01:00"
  expect = "allow"
  rule   = "office-hours"
}
test "saturday" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  at     = "2026-03-07T10:00:00+01:00"
  expect = "deny"
  rule   = "default"
}
test "saturday wrongly expected open" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  at     = "2026-03-07T10:00:00+01:00"
  expect = "allow"
}
test "any time" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  expect = "allow"
  rule   = "office-hours"
}
test "maintenance counts as open" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/c"
  expect = "deny"
  rule   = "maintenance"
}
test "outside maintenance" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/c"
  at     = "2026-03-04T10:00:00Z"
  expect = "allow"
  rule   = "c-open"
}
`
	want := map[string]string{
		"inside the window":              "",
		"saturday":                       "",
		"saturday wrongly expected open": "want allow, got deny by default",
		"any time":                       "",
		"maintenance counts as open":     "",
		"outside maintenance":            "",
	}
	for _, c := range clocks {
		t.Run(c.name, func(t *testing.T) {
			setClock(t, mustTime(t, c.at))
			p := mustParse(t, src)
			results := p.RunTests()
			if len(results) != len(want) {
				t.Fatalf("%d results, want %d", len(results), len(want))
			}
			for _, r := range results {
				got := ""
				if !r.Pass {
					got = r.failure()
				}
				if got != want[r.Name] {
					t.Errorf("test %q: failure %q, want %q", r.Name, got, want[r.Name])
				}
			}
		})
	}
}
