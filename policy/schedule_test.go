package policy

import (
	"math/rand/v2"
	"testing"
	"time"
)

// schedPolicy builds a one-rule policy with the given schedule block body.
func schedPolicy(tb testing.TB, body string) *Policy {
	tb.Helper()
	return mustParse(tb, `
rule "r" {
  action = "allow"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/b"]
  schedule {
`+body+`
  }
}
`)
}

const (
	berlinOffice = `days = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:00-18:00"
timezone = "Europe/Berlin"`
	fridayNight = `days = ["fri"]
hours = "22:00-06:00"`
	weekend   = `days = ["sat", "sun"]`
	everyDay  = `days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]`
	berlinGap = `hours = "02:30-03:30"
timezone = "Europe/Berlin"`
	berlinTwice = `hours = "02:30-02:45"
timezone = "Europe/Berlin"`
	newYorkLate = `hours = "20:00-24:00"
timezone = "America/New_York"`
)

func TestNextChange(t *testing.T) {
	tests := []struct {
		name     string
		schedule string // "" = a policy without schedules
		at       string
		want     string // "" = zero Time
	}{
		{"no schedule", "", "2026-03-04T10:00:00Z", ""},
		{"never changes", everyDay, "2026-03-04T10:00:00Z", ""},
		{"office closes", berlinOffice, "2026-03-04T10:00:00Z", "2026-03-04T17:00:00Z"},
		{"strictly after t", berlinOffice, "2026-03-04T17:00:00Z", "2026-03-05T07:00:00Z"},
		{"just before opening", berlinOffice, "2026-03-05T06:59:59Z", "2026-03-05T07:00:00Z"},
		{"friday evening to monday", berlinOffice, "2026-03-06T17:00:00Z", "2026-03-09T07:00:00Z"},
		{"monday after EU switch opens an hour earlier in UTC", berlinOffice, "2026-03-27T17:00:00Z", "2026-03-30T06:00:00Z"},
		{"crossing midnight opens friday", fridayNight, "2026-03-06T12:00:00Z", "2026-03-06T22:00:00Z"},
		{"crossing midnight closes saturday", fridayNight, "2026-03-06T22:30:00Z", "2026-03-07T06:00:00Z"},
		{"crossing midnight next week", fridayNight, "2026-03-07T06:00:00Z", "2026-03-13T22:00:00Z"},
		{"weekend opens saturday midnight", weekend, "2026-03-04T10:00:00Z", "2026-03-07T00:00:00Z"},
		{"weekend closes monday midnight", weekend, "2026-03-07T12:00:00Z", "2026-03-09T00:00:00Z"},
		// 2026-03-29 Berlin skips 02:00-03:00 local (01:00Z): the window
		// 02:30-03:30 opens at the jump, 03:00 CEST.
		{"window opening in skipped hour", berlinGap, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"},
		{"window after skipped hour closes", berlinGap, "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"},
		// 2026-10-25 Berlin lives 02:00-03:00 local twice: the window opens
		// and closes in each.
		{"repeated hour first close", berlinTwice, "2026-10-25T00:40:00Z", "2026-10-25T00:45:00Z"},
		{"repeated hour second open", berlinTwice, "2026-10-25T00:50:00Z", "2026-10-25T01:30:00Z"},
		{"window ending 24:00", newYorkLate, "2026-03-04T12:00:00Z", "2026-03-05T01:00:00Z"},
		{"window ending 24:00 closes at local midnight", newYorkLate, "2026-03-05T01:00:00Z", "2026-03-05T05:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DenyAll()
			if tt.schedule != "" {
				p = schedPolicy(t, tt.schedule)
			}
			got := p.NextChange(mustTime(t, tt.at))
			var want time.Time
			if tt.want != "" {
				want = mustTime(t, tt.want)
			}
			if !got.Equal(want) {
				t.Errorf("NextChange(%s) = %v, want %v", tt.at, got.UTC(), want)
			}
		})
	}
}

func TestNextChangeEarliestRule(t *testing.T) {
	p := mustParse(t, `
rule "berlin" {
  action = "allow"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/b"]
  schedule {
    hours    = "08:00-18:00"
    timezone = "Europe/Berlin"
  }
}
rule "new-york" {
  action = "allow"
  from = ["spiffe://example.org/a"]
  to   = ["spiffe://example.org/c"]
  schedule {
    hours    = "08:00-18:00"
    timezone = "America/New_York"
  }
}
`)
	// 2026-03-10: New York is UTC-4 (opens 12:00Z), Berlin UTC+1 (closes 17:00Z).
	tests := []struct{ at, want string }{
		{"2026-03-10T08:00:00Z", "2026-03-10T12:00:00Z"},
		{"2026-03-10T12:00:00Z", "2026-03-10T17:00:00Z"},
		{"2026-03-10T17:00:00Z", "2026-03-10T22:00:00Z"},
		{"2026-03-10T22:00:00Z", "2026-03-11T07:00:00Z"},
	}
	for _, tt := range tests {
		if got := p.NextChange(mustTime(t, tt.at)); !got.Equal(mustTime(t, tt.want)) {
			t.Errorf("NextChange(%s) = %v, want %s", tt.at, got.UTC(), tt.want)
		}
	}
}

// TestNextChangeAgainstBruteForce checks NextChange against a minute by
// minute scan: the window stays as it was at t until the instant returned,
// and changes exactly there.
func TestNextChangeAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := mustTime(t, "2026-01-01T00:00:00Z")
	for _, body := range []string{berlinOffice, fridayNight, weekend, berlinGap, berlinTwice, newYorkLate} {
		p := schedPolicy(t, body)
		s := p.scheduled[0]
		for range 12 {
			at := start.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
			got := p.NextChange(at)
			if got.IsZero() {
				t.Fatalf("%q: NextChange(%v) is zero", body, at)
			}
			was := s.active(at)
			for m := at.Truncate(time.Minute).Add(time.Minute); m.Before(got); m = m.Add(time.Minute) {
				if s.active(m) != was {
					t.Fatalf("%q: NextChange(%v) = %v, but the window changes at %v", body, at, got, m)
				}
			}
			if !s.changesAt(got) || s.active(got) == was {
				t.Fatalf("%q: NextChange(%v) = %v, where the window does not change", body, at, got)
			}
		}
	}
}

func TestParseHours(t *testing.T) {
	tests := []struct {
		in         string
		start, end int
		err        string
	}{
		{"08:00-18:00", 480, 1080, ""},
		{"22:00-06:00", 1320, 360, ""},
		{"00:00-24:00", 0, 1440, ""},
		{"23:59-00:01", 1439, 1, ""},
		{"8:00-18:00", 0, 0, `hours "8:00-18:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"08:00", 0, 0, `hours "08:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"24:00-08:00", 0, 0, `hours "24:00-08:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"08:60-09:00", 0, 0, `hours "08:60-09:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"25:00-26:00", 0, 0, `hours "25:00-26:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"08:00-24:01", 0, 0, `hours "08:00-24:01" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"08:00 - 18:00", 0, 0, `hours "08:00 - 18:00" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"08:00-08:00", 0, 0, `hours "08:00-08:00" is an empty window; omit hours for the whole day`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, end, err := parseHours(tt.in)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err || start != tt.start || end != tt.end {
				t.Errorf("parseHours(%q) = %d, %d, %q; want %d, %d, %q", tt.in, start, end, got, tt.start, tt.end, tt.err)
			}
		})
	}
}
