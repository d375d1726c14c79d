package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	p := mustLoad(t, "testdata/decide.hcl")
	at := mustTime(t, "2026-03-04T10:00:00Z")
	tests := []struct {
		name     string
		req      Request
		wantOut  string
		wantCode int
	}{
		{"allow with audit", Request{From: td + "/ns/prod/sa/frontend", To: td + "/ns/prod/sa/payments", Port: 8443, At: at},
			"allow by rule \"frontend-to-payments\"\naudit: rule \"audit-would-deny-frontend\" would deny\n", 0},
		{"deny by rule with audit", Request{From: td + "/ns/dev/sa/x", To: td + "/ns/prod/sa/payments", Port: 8443, At: at},
			"deny by rule \"no-dev-to-prod\"\naudit: rule \"audit-would-allow-dev\" would allow\n", 1},
		{"deny by default", Request{From: td + "/ns/a", To: td + "/ns/b", Port: 1, At: at},
			"deny by default\n", 1},
		{"invalid id", Request{From: "frontend", To: td + "/ns/b", At: at},
			"deny by rule \"invalid-id\"\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			code := Check(&buf, p, tt.req)
			if buf.String() != tt.wantOut || code != tt.wantCode {
				t.Errorf("Check = %d, %q; want %d, %q", code, buf.String(), tt.wantCode, tt.wantOut)
			}
		})
	}
}

func writeFile(tb testing.TB, name, src string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestTestCommand(t *testing.T) {
	const rules = `rule "r" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
}
`
	const pass = `test "a reaches b" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  expect = "allow"
  rule   = "r"
}
`
	const fail = `test "b reaches a" {
  from   = "spiffe://example.org/b"
  to     = "spiffe://example.org/a"
  expect = "allow"
}
`
	passing := writeFile(t, "pass.hcl", rules+pass)
	failing := writeFile(t, "fail.hcl", rules+pass+fail)
	none := writeFile(t, "none.hcl", rules)
	broken := writeFile(t, "broken.hcl", "default = \"maybe\"\ncolour = 1\n")
	missing := filepath.Join(t.TempDir(), "missing.hcl")
	dir := filepath.Join(t.TempDir(), "a-directory")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		wantOut  string // stdout: PASS/FAIL lines and the summary
		wantErr  string // stderr: why the file does not load
		wantCode int
	}{
		{"all pass", passing, "PASS a reaches b\nok: 1 of 1 tests passed\n", "", 0},
		{"one fails", failing, "PASS a reaches b\nFAIL b reaches a (" + failing + ":12): want allow, got deny by default\nFAIL: 1 of 2 tests failed\n", "", 1},
		{"no tests", none, "no test blocks in " + none + "\n", "", 0},
		{"does not load", broken, "", broken + ":1:11: default must be \"allow\" or \"deny\", not \"maybe\"\n" +
			broken + ":2:1: An argument named \"colour\" is not expected here.\n", 2},
		{"missing file", missing, "", "policy: cannot read \"" + missing + "\": no such file or directory\n", 2},
		{"directory", dir, "", "policy: cannot read \"" + dir + "\": is a directory\n", 2},
		{"example", "testdata/example.hcl", "PASS frontend can pay\nPASS dev cannot reach prod\nok: 2 of 2 tests passed\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Test(&out, &errOut, tt.path)
			if out.String() != tt.wantOut || errOut.String() != tt.wantErr || code != tt.wantCode {
				t.Errorf("Test = %d, stdout:\n%s\nstderr:\n%s\nwant %d, stdout:\n%s\nstderr:\n%s",
					code, out.String(), errOut.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}
