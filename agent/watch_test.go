package agent

import (
	"os"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/policy"
)

func mustPolicy(tb testing.TB, src string) *policy.Policy {
	tb.Helper()
	p, err := policy.Parse("p.hcl", []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestScheduleStep: the schedule watcher rechecks live streams only once a
// window boundary after its last recheck is reached, sleeps until the next
// boundary (at most scheduleMaxSleep), and does not wake at all for a
// policy without schedules: each recheck re-authorizes every live stream,
// counting a decision and logging audit matches for each.
func TestScheduleStep(t *testing.T) {
	const rule = `default = "deny"
rule "r" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
`
	plain := mustPolicy(t, rule+"}\n")
	window := mustPolicy(t, rule+`  schedule {
    hours    = "10:00-11:00"
    timezone = "UTC"
  }
}
`)
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name        string
		p           *policy.Policy
		since, now  string
		wantRecheck bool
		wantWait    time.Duration
	}{
		{"no schedule: sleep until the policy changes", plain, "2026-03-04T10:59:00Z", "2026-03-04T10:59:30Z", false, 0},
		{"no schedule, much later", plain, "2026-03-04T10:00:00Z", "2026-03-09T10:00:00Z", false, 0},
		{"boundary in 2s", window, "2026-03-04T10:59:00Z", "2026-03-04T10:59:58Z", false, 2 * time.Second},
		{"boundary far: sleep is capped", window, "2026-03-04T11:00:00Z", "2026-03-04T11:00:00Z", false, scheduleMaxSleep},
		{"boundary reached", window, "2026-03-04T10:59:58Z", "2026-03-04T11:00:00Z", true, 0},
		{"boundary passed (clock step or late wake)", window, "2026-03-04T10:59:58Z", "2026-03-04T12:30:00Z", true, 0},
		{"boundary already rechecked", window, "2026-03-04T11:00:00Z", "2026-03-04T11:00:00.5Z", false, scheduleMaxSleep},
		{"window opens", window, "2026-03-04T09:00:00Z", "2026-03-04T09:59:59.25Z", false, 750 * time.Millisecond},
		{"clock stepped back before since", window, "2026-03-04T10:59:58Z", "2026-03-04T10:59:30Z", false, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recheck, wait := scheduleStep(tt.p, at(tt.since), at(tt.now))
			if recheck != tt.wantRecheck || wait != tt.wantWait {
				t.Errorf("scheduleStep = %v, %v; want %v, %v", recheck, wait, tt.wantRecheck, tt.wantWait)
			}
		})
	}
}

// TestReloadIsNotRepeatedByTheFileWatch: a reload (SIGHUP, API, renewal)
// that already read a changed file leaves nothing for the file watch to
// reload again; a later change still reloads.
func TestReloadIsNotRepeatedByTheFileWatch(t *testing.T) {
	l := startLoopAgent(t)
	if err := os.WriteFile(l.policyFile, []byte(`default = "allow"`+"\n# edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.a.Reload("api"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * filePollInterval)
	if st := l.a.lastReload.Load(); st.Source != "api" {
		t.Fatalf("last reload by %q after the API reload, want api alone", st.Source)
	}
	if err := os.WriteFile(l.policyFile, []byte(`default = "allow"`+"\n# edited again\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * filePollInterval)
	for l.a.lastReload.Load().Source != "file" {
		if time.Now().After(deadline) {
			t.Fatal("a later change was not reloaded by the file watch")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
