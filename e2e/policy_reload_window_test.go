package e2e

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestReloadedWindowEndCutsStream: a reload that brings a schedule window
// ending ~2 s later cuts the stream the window allows at the window's end,
// not up to a minute late: the schedule watcher, asleep with a policy that
// had no schedule, wakes on the reload and follows the new window.
func TestReloadedWindowEndCutsStream(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)

	c, err := net.Dial("tcp", pr.frontend)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(msg string) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := readFull(c, buf)
		return err
	}
	if err := echo("hi"); err != nil {
		t.Fatalf("allowed before the reload: %v", err)
	}

	// Windows are whole minutes: reload 2 s before the next minute, with a
	// window that ends on it.
	end := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if time.Until(end) < 2500*time.Millisecond {
		end = end.Add(time.Minute)
	}
	time.Sleep(time.Until(end.Add(-2 * time.Second)))
	endHM := end.Format("15:04")
	if endHM == "00:00" {
		endHM = "24:00"
	}
	pol := fmt.Sprintf(`
default = "deny"
rule "until-the-minute" {
  action = "allow"
  from   = [%q]
  to     = [%q]
  schedule {
    hours    = "%s-%s"
    timezone = "UTC"
  }
}
`, idFrontend, idPayments, end.Add(-time.Minute).Format("15:04"), endHM)
	writeFile(t, pr.policyB, pol)
	if err := pr.b.a.Reload("test"); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := echo("ok"); err != nil {
		t.Fatalf("cut by the reload although its window is open (%v before its end): %v", time.Until(end), err)
	}

	buf := make([]byte, 1)
	_ = c.SetReadDeadline(end.Add(10 * time.Second))
	_, err = c.Read(buf)
	cutAt := time.Now()
	wantReset(t, "", err)
	late := cutAt.Sub(end)
	t.Logf("cut %v after the window's end", late)
	if late < 0 {
		t.Fatalf("stream cut at %v, before the window's end %v", cutAt, end)
	}
	if late > time.Second {
		t.Fatalf("stream cut %v after the window's end, want within 1s", late)
	}
	reply, err := roundTrip(pr.frontend, "late")
	wantReset(t, reply, err)
}
