package policy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var idSeeds = []string{
	"spiffe://example.org/ns/prod/sa/frontend",
	"spiffe://example.org/a",
	"spiffe://example.org/a/",
	"spiffe://example.org",
	"spiffe://Example.org/a",
	"spiffe://example.org/a//b",
	"spiffe://example.org/./a",
	"spiffe://example.org/a*",
	"spiffe://ex_am-ple.org/A.b-c_d/9",
	"http://example.org/a",
	"",
}

// FuzzLiteralPattern: a valid ID compiled as a pattern matches itself, and
// so do its globbed forms; validID agrees with ValidateID.
func FuzzLiteralPattern(f *testing.F) {
	for _, s := range idSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		valid := ValidateID(id) == nil
		if validID(id) != valid {
			t.Fatalf("validID(%q) = %v, ValidateID says %v", id, !valid, valid)
		}
		if !valid {
			return
		}
		p, err := compilePattern(id)
		if err != nil {
			t.Fatalf("compilePattern(%q) of a valid ID: %v", id, err)
		}
		if !p.match(id) {
			t.Fatalf("pattern %q does not match itself", id)
		}
		td, rest, _ := strings.Cut(id[len(spiffeScheme):], "/")
		segs := strings.Split(rest, "/")
		stars := make([]string, len(segs))
		for i := range stars {
			stars[i] = "*"
		}
		for _, g := range []string{
			spiffeScheme + td + "/**",
			spiffeScheme + td + "/" + strings.Join(stars, "/"),
			spiffeScheme + td + "/**/" + segs[len(segs)-1],
			spiffeScheme + td + "/" + segs[0] + "/**",
			spiffeScheme + td + "/" + rest + "*",
		} {
			gp, err := compilePattern(g)
			if err != nil {
				t.Fatalf("compilePattern(%q): %v", g, err)
			}
			if !gp.match(id) {
				t.Fatalf("pattern %q does not match %q", g, id)
			}
		}
		// One more character is a look-alike, never a match.
		if p.match(id+"x") || p.match(id+"/x") {
			t.Fatalf("pattern %q matches a longer ID", id)
		}
	})
}

// FuzzPatternMatch compares the matcher with a plain recursive reference
// on valid IDs, and checks it never panics on anything.
func FuzzPatternMatch(f *testing.F) {
	seeds := [][2]string{
		{"spiffe://example.org/ns/**/sa/*", "spiffe://example.org/ns/a/b/sa/x"},
		{"spiffe://example.org/**/a*b/**", "spiffe://example.org/ab"},
		{"spiffe://example.org/*/x", "spiffe://example.org//x"},
		{"spiffe://example.org/**", "spiffe://example.org"},
		{"spiffe://example.org/a*b*c", "spiffe://example.org/abbc"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, id string) {
		p, err := compilePattern(pat)
		if err != nil {
			return
		}
		got := p.match(id) // must not panic, whatever id is
		if !validID(id) {
			return
		}
		if want := refMatch(pat, id); got != want {
			t.Fatalf("%q matches %q = %v, reference says %v", pat, id, got, want)
		}
	})
}

// refMatch is a slow, obviously correct matcher for valid IDs.
func refMatch(pat, id string) bool {
	ptd, ppath, _ := strings.Cut(pat[len(spiffeScheme):], "/")
	itd, ipath, _ := strings.Cut(id[len(spiffeScheme):], "/")
	if ptd != itd {
		return false
	}
	var rec func(ps, is []string) bool
	rec = func(ps, is []string) bool {
		if len(ps) == 0 {
			return len(is) == 0
		}
		if ps[0] == "**" {
			for i := 0; i <= len(is); i++ {
				if rec(ps[1:], is[i:]) {
					return true
				}
			}
			return false
		}
		if len(is) == 0 {
			return false
		}
		ok, _ := path.Match(ps[0], is[0])
		return ok && rec(ps[1:], is[1:])
	}
	return rec(strings.Split(ppath, "/"), strings.Split(ipath, "/"))
}

// FuzzParse: the parser never panics, every problem names the file, and a
// policy it accepts answers Decide and NextChange without panicking.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.hcl")
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("default = \"allow\"\n"))
	f.Add([]byte("rule \"r\" {\n action = \"deny\"\n from = [\"spiffe://a/**\"]\n to = [\"spiffe://a/*\"]\n ports = [1]\n schedule { hours = \"23:00-01:00\" }\n}\n"))
	at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("f.hcl", src)
		if err != nil {
			le, ok := err.(*LoadError)
			if !ok || len(le.Problems) == 0 {
				t.Fatalf("Parse error %T %v: want a *LoadError with problems", err, err)
			}
			for _, prob := range le.Problems {
				if !strings.HasPrefix(prob, "f.hcl:") {
					t.Fatalf("problem %q does not name the file", prob)
				}
			}
			return
		}
		p.Decide(Request{From: "spiffe://a/b", To: "spiffe://example.org/ns/prod/sa/payments", Port: 8443, At: at})
		p.NextChange(at)
		p.RunTests()
	})
}

// FuzzParseHours: accepted hours round-trip through their canonical
// "HH:MM-HH:MM" form, and the window is never empty.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"08:00-18:00", "22:00-06:00", "00:00-24:00", "24:00-01:00", "9-5", "08:00-08:00", "1a:00-02:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := parseHours(s)
		if err != nil {
			return
		}
		if start == end || start < 0 || start >= 24*60 || end < 0 || end > 24*60 {
			t.Fatalf("parseHours(%q) = %d, %d: not a window", s, start, end)
		}
		canon := fmt.Sprintf("%02d:%02d-%02d:%02d", start/60, start%60, end/60, end%60)
		if canon != s {
			t.Fatalf("parseHours(%q) accepted a non-canonical form; canonical is %q", s, canon)
		}
	})
}
