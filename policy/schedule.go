package policy

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones must work on hosts without a zoneinfo database
)

// schedule is a rule's compiled temporal window. It is immutable.
type schedule struct {
	days       uint8 // bit d set: time.Weekday d is listed
	hasHours   bool
	start, end int // minutes after local midnight, 0..1440; start != end
	loc        *time.Location
	zone       string // as written, for messages
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

const allDays = 1<<7 - 1

// parseDay returns the weekday of a day name (mon..sun).
func parseDay(s string) (time.Weekday, error) {
	d, ok := dayNames[s]
	if !ok {
		return 0, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", s)
	}
	return d, nil
}

// parseHours parses "HH:MM-HH:MM" into minutes after midnight. The end may
// be 24:00; an end before the start crosses midnight.
func parseHours(s string) (start, end int, err error) {
	bad := fmt.Errorf("hours %q is invalid: want \"HH:MM-HH:MM\" with times from 00:00 to 24:00", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, bad
	}
	if start, ok = parseClock(a); !ok || start == 24*60 {
		return 0, 0, bad
	}
	if end, ok = parseClock(b); !ok {
		return 0, 0, bad
	}
	if start == end {
		return 0, 0, fmt.Errorf("hours %q is an empty window; omit hours for the whole day", s)
	}
	return start, end, nil
}

// parseClock parses exactly "HH:MM", 00:00 to 24:00.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// loadZone loads an IANA zone. "Local" is refused: a policy must mean the
// same on every host.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as \"Europe/Berlin\" or \"UTC\")", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as \"Europe/Berlin\" or \"UTC\")", name)
	}
	return loc, nil
}

func (s *schedule) hasDay(d time.Weekday) bool { return s.days&(1<<d) != 0 }

// active reports whether t is inside the window. It does not allocate.
func (s *schedule) active(t time.Time) bool {
	lt := t.In(s.loc)
	wd := lt.Weekday()
	if !s.hasHours {
		return s.hasDay(wd)
	}
	m := lt.Hour()*60 + lt.Minute()
	if s.start < s.end {
		return m >= s.start && m < s.end && s.hasDay(wd)
	}
	// Crosses midnight: the part after midnight belongs to the day before.
	switch {
	case m >= s.start:
		return s.hasDay(wd)
	case m < s.end:
		return s.hasDay((wd + 6) % 7)
	}
	return false
}

// changesAt reports whether the window opens or closes at instant c.
func (s *schedule) changesAt(c time.Time) bool {
	return s.active(c.Add(-time.Nanosecond)) != s.active(c)
}

// nextChange returns the earliest instant after t and before limit at
// which the window opens or closes, or the zero Time.
//
// The window can only change at a wall-clock boundary (its start, its end,
// or midnight) or at a zone transition (daylight saving time). Between two
// transitions the zone's offset is fixed, so each wall-clock boundary maps
// to exactly one instant there; walking the zone's intervals in order
// therefore finds every candidate exactly, including windows that open in
// a skipped hour or in an hour that happens twice.
func (s *schedule) nextChange(t, limit time.Time) time.Time {
	bounds := [3]int{0, s.start, s.end}
	if !s.hasHours {
		bounds = [3]int{0, 0, 0}
	}
	for a := t; a.Before(limit); {
		la := a.In(s.loc)
		_, off := la.Zone()
		_, b := la.ZoneBounds()
		if b.IsZero() || b.After(limit) || !b.After(a) {
			b = limit
		}
		y, mo, d := la.Date()
		// midnight is the instant of local midnight of a's day at offset off.
		midnight := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Add(-time.Duration(off) * time.Second)
		var best time.Time
		for day := midnight.Add(-24 * time.Hour); day.Before(b); day = day.Add(24 * time.Hour) {
			for _, m := range bounds {
				c := day.Add(time.Duration(m) * time.Minute)
				if !c.After(t) || c.Before(a) || !c.Before(b) {
					continue
				}
				if (best.IsZero() || c.Before(best)) && s.changesAt(c) {
					best = c
				}
			}
		}
		if !best.IsZero() {
			return best
		}
		if b.Before(limit) && b.After(t) && s.changesAt(b) {
			return b
		}
		a = b
	}
	return time.Time{}
}
