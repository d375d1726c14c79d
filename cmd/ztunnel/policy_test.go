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
