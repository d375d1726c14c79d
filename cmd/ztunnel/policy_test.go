package main

import (
	"path/filepath"
	"testing"
)

// officeHours is DESIGN §6's example: a scheduled allow rule and a test
// without `at`.
const officeHours = `default = "deny"
rule "frontend-to-payments" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/frontend"]
  to     = ["spiffe://example.org/ns/prod/sa/payments"]
  ports  = [8443]
  schedule {
    days     = ["mon", "tue", "wed", "thu", "fri"]
    hours    = "08:00-18:00"
    timezone = "Europe/Berlin"
  }
}
test "frontend can pay" {
  from   = "spiffe://example.org/ns/prod/sa/frontend"
  to     = "spiffe://example.org/ns/prod/sa/payments"
  port   = 8443
  expect = "allow"
}
`

// TestPolicyTestOutput: PASS/FAIL lines go to stdout, a file that does not
// load goes to stderr as one sentence per problem (DESIGN §7).
func TestPolicyTestOutput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.hcl")
	writeTestFile(t, good, officeHours)
	failing := filepath.Join(dir, "failing.hcl")
	writeTestFile(t, failing, `default = "deny"
test "a reaches b" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  expect = "allow"
}
`)
	broken := filepath.Join(dir, "broken.hcl")
	writeTestFile(t, broken, "default = \"maybe\"\n")
	missing := filepath.Join(dir, "missing.hcl")
	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		out, errOut string
	}{
		{"pass at any hour", []string{good}, 0, "PASS frontend can pay\nok: 1 of 1 tests passed\n", ""},
		{"a test fails", []string{failing}, 1,
			"FAIL a reaches b (" + failing + ":2): want allow, got deny by default\nFAIL: 1 of 1 tests failed\n", ""},
		{"does not load", []string{broken}, 2, "", broken + ":1:11: default must be \"allow\" or \"deny\", not \"maybe\"\n"},
		{"missing file", []string{missing}, 2, "", "policy: cannot read \"" + missing + "\": no such file or directory\n"},
		{"no file", nil, 2, "", "ztunnel policy test: give exactly one policy file\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(append([]string{"policy", "test"}, tc.args...)...)
			if code != tc.code || out != tc.out || errOut != tc.errOut {
				t.Fatalf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					code, out, errOut, tc.code, tc.out, tc.errOut)
			}
		})
	}
}

// TestPolicyCheckAt: `policy check` decides at --at, so a window is open or
// closed as at that instant (without --at it is the current time), while
// the file's own test without `at` passes at load whatever the time.
func TestPolicyCheckAt(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.hcl")
	writeTestFile(t, pol, officeHours)
	check := []string{"policy", "check", "--policy", pol,
		"--from", "spiffe://example.org/ns/prod/sa/frontend",
		"--to", "spiffe://example.org/ns/prod/sa/payments", "--port", "8443"}
	for _, tc := range []struct {
		name, at string
		code     int
		out      string
	}{
		{"inside the window", "2026-03-04T10:00:00+01:00", 0, "allow by rule \"frontend-to-payments\"\n"},
		{"weekday night", "2026-03-04T03:00:00+01:00", 1, "deny by default\n"},
		{"sunday", "2026-03-08T12:00:00+01:00", 1, "deny by default\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(append(check, "--at", tc.at)...)
			if code != tc.code || out != tc.out || errOut != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout %q", code, out, errOut, tc.code, tc.out)
			}
		})
	}
}

// TestPolicyCheckMissingFile: a policy file that cannot be read is one
// sentence on stderr, exit 2.
func TestPolicyCheckMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.hcl")
	code, out, errOut := runCmd("policy", "check", "--policy", missing,
		"--from", "spiffe://example.org/a", "--to", "spiffe://example.org/b")
	if want := "policy: cannot read \"" + missing + "\": no such file or directory\n"; code != 2 || out != "" || errOut != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2, stderr %q", code, out, errOut, want)
	}
}
