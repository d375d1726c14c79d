package policy

import (
	"errors"
	"flag"
	"io/fs"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestParseErrors checks one mistake at a time: the exact message and its
// file:line:col.
func TestParseErrors(t *testing.T) {
	const ok = `
rule "r" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
%s
}
`
	rule := func(extra string) string { return strings.Replace(ok, "%s", extra, 1) }
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"syntax error", "rule \"r\" {\n  action = \n}\n", `t.hcl:2:12: Expected the start of an expression, but found an invalid expression token.`},
		{"unknown top-level key", "colour = \"red\"\n", `t.hcl:1:1: An argument named "colour" is not expected here.`},
		{"unknown block", "rules \"r\" {}\n", `t.hcl:1:1: Blocks of type "rules" are not expected here. Did you mean "rule"?`},
		{"rule without name", "rule {}\n", `t.hcl:1:6: All rule blocks must have 1 labels (name).`},
		{"bad default", "default = \"permit\"\n", `t.hcl:1:11: default must be "allow" or "deny", not "permit"`},
		{"default not string", "default = true\n", `t.hcl:1:11: default must be a string`},
		{"variable", "default = deny\n", `t.hcl:1:11: Variables may not be used here.`},
		{"unknown rule key", rule(`  port = 1`), `t.hcl:6:3: An argument named "port" is not expected here. Did you mean "ports"?`},
		{"missing action", "rule \"r\" {\n  from = [\"spiffe://example.org/a\"]\n  to = [\"spiffe://example.org/b\"]\n}\n", `t.hcl:1:1: rule "r": action is required ("allow" or "deny")`},
		{"bad action", strings.Replace(rule(""), `"allow"`, `"accept"`, 1), `t.hcl:3:12: rule "r": action must be "allow" or "deny", not "accept"`},
		{"bad mode", rule(`  mode = "dry-run"`), `t.hcl:6:10: rule "r": mode must be "enforce" or "audit", not "dry-run"`},
		{"missing from", "rule \"r\" {\n  action = \"deny\"\n  to = [\"spiffe://example.org/b\"]\n}\n", `t.hcl:1:1: rule "r": from is required, e.g. ["spiffe://example.org/ns/prod/sa/frontend"]`},
		{"empty to", strings.Replace(rule(""), `["spiffe://example.org/b"]`, `[]`, 1), `t.hcl:5:12: rule "r": to must list at least one pattern`},
		{"from not a list", strings.Replace(rule(""), `["spiffe://example.org/a"]`, `"spiffe://example.org/a"`, 1), `t.hcl:4:12: rule "r": from must be a list, e.g. ["spiffe://example.org/ns/prod/sa/frontend"]`},
		{"bad pattern", strings.Replace(rule(""), `spiffe://example.org/a"`, `spiffe://example.org/a/"`, 1), `t.hcl:4:13: rule "r": from: pattern "spiffe://example.org/a/" is invalid: path segment 2: empty (a double or trailing '/')`},
		{"pattern wildcard trust domain", strings.Replace(rule(""), `spiffe://example.org/b`, `spiffe://*.example.org/b`, 1), `t.hcl:5:13: rule "r": to: pattern "spiffe://*.example.org/b" is invalid: the trust domain must be literal; list each partner trust domain in its own pattern`},
		{"port zero", rule(`  ports = [0]`), `t.hcl:6:12: rule "r": port 0 is out of range (1-65535)`},
		{"port too big", rule(`  ports = [443, 65536]`), `t.hcl:6:17: rule "r": port 65536 is out of range (1-65535)`},
		{"port fraction", rule(`  ports = [1.5]`), `t.hcl:6:12: rule "r": port must be a whole number, not 1.5`},
		// Huge numbers are named in a few characters, never expanded.
		{"port huge", rule(`  ports = [1e10000000]`), `t.hcl:6:12: rule "r": port 1e+10000000 is out of range (1-65535)`},
		{"port huge negative", rule(`  ports = [-2.5e10000000]`), `t.hcl:6:12: rule "r": port -2.5e+10000000 is out of range (1-65535)`},
		{"port tiny fraction", rule(`  ports = [1.5e-10000000]`), `t.hcl:6:12: rule "r": port must be a whole number, not 1.5e-10000000`},
		{"port beyond big.Float", rule(`  ports = [7e2147483000]`), `t.hcl:6:12: rule "r": port infinity is out of range (1-65535)`},
		{"port long integer", rule(`  ports = [123456789012345678901]`), `t.hcl:6:12: rule "r": port 1.23457e+20 is out of range (1-65535)`},
		{"port string", rule(`  ports = ["443"]`), `t.hcl:6:12: rule "r": port must be a number`},
		{"ports empty", rule(`  ports = []`), `t.hcl:6:11: rule "r": ports must not be empty; omit it to match any port`},
		{"reserved name", strings.Replace(rule(""), `"r"`, `"invalid-id"`, 1), `t.hcl:2:6: the rule name "invalid-id" is reserved`},
		{"empty name", strings.Replace(rule(""), `"r"`, `""`, 1), `t.hcl:2:6: a rule name must not be empty`},
		{"unknown day", rule(`  schedule { days = ["Mon"] }`), `t.hcl:6:22: rule "r": schedule: unknown day "Mon" (use mon, tue, wed, thu, fri, sat, sun)`},
		{"empty days", rule(`  schedule { days = [] }`), `t.hcl:6:21: rule "r": schedule: days must not be empty; omit it for every day`},
		{"bad hours", rule(`  schedule { hours = "9-5" }`), `t.hcl:6:22: rule "r": schedule: hours "9-5" is invalid: want "HH:MM-HH:MM" with times from 00:00 to 24:00`},
		{"empty window", rule(`  schedule { hours = "09:00-09:00" }`), `t.hcl:6:22: rule "r": schedule: hours "09:00-09:00" is an empty window; omit hours for the whole day`},
		{"unknown zone", rule(`  schedule {
    hours = "09:00-17:00"
    timezone = "Europe/Atlantis"
  }`), `t.hcl:8:16: rule "r": schedule: unknown time zone "Europe/Atlantis" (use an IANA name such as "Europe/Berlin" or "UTC")`},
		{"local zone", rule(`  schedule {
    hours = "09:00-17:00"
    timezone = "Local"
  }`), `t.hcl:8:16: rule "r": schedule: unknown time zone "Local" (use an IANA name such as "Europe/Berlin" or "UTC")`},
		{"schedule without days or hours", rule(`  schedule { timezone = "UTC" }`), `t.hcl:6:3: rule "r": schedule must set days or hours`},
		{"unknown schedule key", rule(`  schedule { day = ["mon"] }`), `t.hcl:6:14: An argument named "day" is not expected here. Did you mean "days"?`},
		{"two schedules", rule("  schedule { days = [\"mon\"] }\n  schedule { days = [\"tue\"] }"), `t.hcl:7:3: rule "r": only one schedule block is allowed`},
		{"duplicate rule", rule("") + rule(""), `t.hcl:9:6: duplicate rule name "r"; it is first defined at t.hcl:2:1`},
		{"test missing expect", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n}\n", `t.hcl:8:1: test "t": expect is required ("allow" or "deny")`},
		{"test bad from", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/*\"\n  to = \"spiffe://example.org/b\"\n  expect = \"deny\"\n}\n", `t.hcl:9:10: test "t": from "spiffe://example.org/*" is not a SPIFFE workload ID: path segment "*": the character '*' is not allowed`},
		{"test bad at", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"deny\"\n  at = \"2026-03-02 09:30\"\n}\n", `t.hcl:12:8: test "t": at "2026-03-02 09:30" is not an RFC 3339 time such as "2026-03-02T09:30:00+01:00"`},
		{"test unknown rule", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"deny\"\n  rule = \"x\"\n}\n", `t.hcl:12:10: test "t": rule "x" is not a rule of this policy`},
		{"test port huge", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"deny\"\n  port = 9e99999999\n}\n", `t.hcl:12:10: test "t": port 9e+99999999 is out of range (0-65535)`},
		{"test unknown key", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"deny\"\n  ports = [1]\n}\n", `t.hcl:12:3: An argument named "ports" is not expected here. Did you mean "port"?`},
		{"duplicate test", rule("") + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"allow\"\n}\n" + "test \"t\" {\n  from = \"spiffe://example.org/a\"\n  to = \"spiffe://example.org/b\"\n  expect = \"allow\"\n}\n", `t.hcl:13:6: duplicate test name "t"; it is first defined at t.hcl:8:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("t.hcl", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d rules), want %s", len(p.Rules()), tt.want)
			}
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrInvalidPolicy) || errors.Is(err, ErrTestFailed) {
				t.Fatalf("Parse error %T %v: want a *LoadError matching ErrInvalidPolicy only", err, err)
			}
			if len(le.Problems) != 1 || le.Problems[0] != tt.want {
				t.Errorf("problems:\n got %q\nwant %q", le.Problems, tt.want)
			}
		})
	}
}

// TestParseHugeNumberFast: a number of ten million digits is refused in
// well under a second with a short message (formatting it in full took
// seconds and made a 10 MB message).
func TestParseHugeNumberFast(t *testing.T) {
	src := "rule \"r\" {\n  action = \"allow\"\n  from = [\"spiffe://example.org/a\"]\n  to = [\"spiffe://example.org/b\"]\n" +
		"  ports = [1e10000000, -1e10000000, 1e-10000000, 7e2147483000]\n}\n"
	start := time.Now()
	_, err := Parse("t.hcl", []byte(src))
	took := time.Since(start)
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 4 {
		t.Fatalf("Parse error %v: want 4 problems", err)
	}
	for _, p := range le.Problems {
		if len(p) > 100 || strings.Contains(p, "NaN") {
			t.Errorf("problem of %d bytes: %.120s...", len(p), p)
		}
	}
	if took > time.Second {
		t.Errorf("Parse took %v", took)
	}
	t.Logf("%v: %q", took, le.Problems)
}

func TestNumberText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"65536", "65536"},
		{"-1", "-1"},
		{"999999999999999", "999999999999999"},
		{"1e15", "1e+15"},
		{"1.5", "1.5"},
		{"0.1234567", "0.123457"},
		{"1e308", "1e+308"},
		{"1e309", "1e+309"},
		{"9.999e400", "1e+401"},
		{"1.23e-400", "1.23e-400"},
		{"-4.5e1000", "-4.5e+1000"},
		{"1e10000000", "1e+10000000"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			x, _, err := big.ParseFloat(tt.in, 10, 512, big.ToNearestEven)
			if err != nil {
				t.Fatal(err)
			}
			if got := numberText(x); got != tt.want {
				t.Errorf("numberText(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestParseReportsEveryProblem parses a file with many mistakes and
// compares the full report with testdata/invalid.hcl.golden (go test
// -update rewrites it).
func TestParseReportsEveryProblem(t *testing.T) {
	src, err := os.ReadFile("testdata/invalid.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("testdata/invalid.hcl", src)
	if err == nil {
		t.Fatal("Parse succeeded, want every problem reported")
	}
	got := err.Error() + "\n"
	const golden = "testdata/invalid.hcl.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("problems differ from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
	}
	if n := strings.Count(got, "\n"); n < 25 {
		t.Errorf("%d problems, want every one of them (at least 25)", n)
	}
}

func TestParseSyntaxErrorsAll(t *testing.T) {
	src := "a = 1 +\nb = \"x\ny = [\n"
	_, err := Parse("s.hcl", []byte(src))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Parse error %v, want a *LoadError", err)
	}
	want := []string{"s.hcl:1:8:", "s.hcl:2:7:", "s.hcl:3:6:"}
	if len(le.Problems) != len(want) {
		t.Fatalf("problems %q: want %d, one per syntax error", le.Problems, len(want))
	}
	for i, p := range le.Problems {
		if !strings.HasPrefix(p, want[i]) {
			t.Errorf("problem %q does not start with %s", p, want[i])
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	failing := dir + "/failing.hcl"
	src := `rule "r" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
}

test "wrong" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  expect = "deny"
}

test "wrong rule" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/c"
  expect = "deny"
  rule   = "r"
}
`
	if err := os.WriteFile(failing, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		want     string
		testFail bool
		notExist bool
	}{
		{"missing file", dir + "/nope.hcl", `policy: cannot read "` + dir + `/nope.hcl": no such file or directory`, false, true},
		{"failing tests", failing, failing + `:7:1: test "wrong" failed: want deny, got allow by rule "r"` + "\n" +
			failing + `:13:1: test "wrong rule" failed: want deny by rule "r", got deny by default`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.path)
			if err == nil {
				t.Fatalf("Load succeeded with %d rules", len(p.Rules()))
			}
			if err.Error() != tt.want {
				t.Errorf("Load error\n got %s\nwant %s", err, tt.want)
			}
			if errors.Is(err, ErrTestFailed) != tt.testFail {
				t.Errorf("errors.Is(err, ErrTestFailed) = %v, want %v", !tt.testFail, tt.testFail)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", !tt.notExist, tt.notExist)
			}
		})
	}
}
