package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestScheduleEndCutsStream: a stream allowed by a schedule window is cut
// when the window ends (the next minute boundary), without any reload. An
// audit rule matching the same stream is logged and changes nothing.
func TestScheduleEndCutsStream(t *testing.T) {
	now := time.Now().UTC()
	start, end := now.Truncate(time.Minute), now.Truncate(time.Minute).Add(time.Minute)
	if end.Sub(now) < 3*time.Second {
		// Too close to the boundary to open the stream first: use the next window.
		time.Sleep(end.Sub(now) + 100*time.Millisecond)
		start, end = end, end.Add(time.Minute)
	}
	pol := fmt.Sprintf(`
default = "deny"
rule "this-minute" {
  action = "allow"
  from   = [%q]
  to     = [%q]
  schedule {
    hours    = "%s-%s"
    timezone = "UTC"
  }
}
rule "watch-frontend" {
  action = "deny"
  mode   = "audit"
  from   = [%q]
  to     = [%q]
}
`, idFrontend, idPayments, start.Format("15:04"), end.Format("15:04"), idFrontend, idPayments)
	pr := startPair(t, pol, pol)

	c, err := net.Dial("tcp", pr.frontend)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readFull(c, buf); err != nil {
		t.Fatalf("allowed inside the window: %v", err)
	}
	eventually(t, 2*time.Second, "audit rule logged", func() bool {
		return strings.Contains(pr.b.log.String(), "watch-frontend")
	})

	_ = c.SetReadDeadline(time.Now().Add(time.Until(end) + 10*time.Second))
	_, err = c.Read(buf)
	wantReset(t, "", err)
	t.Logf("cut %v after the window's end", time.Since(end))
	if time.Now().Before(end) {
		t.Fatalf("stream cut at %v, before the window's end %v", time.Now(), end)
	}
	reply, err := roundTrip(pr.frontend, "late")
	wantReset(t, reply, err)
}

// TestPolicyFileChangeApplies: editing the policy file on disk (no signal,
// no API call) applies it; a policy whose own tests fail is refused.
func TestPolicyFileChangeApplies(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)
	if reply, err := roundTrip(pr.frontend, "a"); err != nil || reply != "a" {
		t.Fatalf("before: %q %v", reply, err)
	}
	failing := denyAllPolicy + `
test "frontend can pay" {
  from   = "` + idFrontend + `"
  to     = "` + idPayments + `"
  port   = 8443
  expect = "allow"
}
`
	writeFile(t, pr.policyB, failing)
	eventually(t, 5*time.Second, "failing policy refused", func() bool {
		return strings.Contains(pr.b.log.String(), "frontend can pay")
	})
	if reply, err := roundTrip(pr.frontend, "b"); err != nil || reply != "b" {
		t.Fatalf("after a refused policy: %q %v", reply, err)
	}
	writeFile(t, pr.policyB, denyAllPolicy)
	eventually(t, 5*time.Second, "new policy applied from the file", func() bool {
		_, err := roundTrip(pr.frontend, "c")
		return err != nil
	})
}
