package policy

import (
	"testing"
)

func TestPatternMatch(t *testing.T) {
	const td = "spiffe://example.org"
	tests := []struct {
		name    string
		pattern string
		id      string
		want    bool
	}{
		{"literal equal", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/frontend", true},
		{"literal prefix look-alike", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/frontend2", false},
		{"literal shorter id", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/front", false},
		{"literal case", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/Frontend", false},
		{"literal extra segment", td + "/ns/prod/sa/frontend", td + "/ns/prod/sa/frontend/x", false},
		{"literal other trust domain", td + "/ns/prod/sa/frontend", "spiffe://example.com/ns/prod/sa/frontend", false},
		{"literal longer trust domain", td + "/ns/prod/sa/frontend", "spiffe://example.org2/ns/prod/sa/frontend", false},

		{"star at start", td + "/*/prod/sa/frontend", td + "/ns/prod/sa/frontend", true},
		{"star at start two segments", td + "/*/prod/sa/frontend", td + "/a/b/prod/sa/frontend", false},
		{"star in middle", td + "/ns/*/sa/frontend", td + "/ns/staging/sa/frontend", true},
		{"star in middle no segment", td + "/ns/*/sa/frontend", td + "/ns/sa/frontend", false},
		{"star at end", td + "/ns/prod/sa/*", td + "/ns/prod/sa/anything", true},
		{"star at end not two", td + "/ns/prod/sa/*", td + "/ns/prod/sa/a/b", false},
		{"star at end not zero", td + "/ns/prod/sa/*", td + "/ns/prod/sa", false},
		{"star literal trust domain", td + "/ns/*/sa/x", "spiffe://partner.org/ns/p/sa/x", false},

		{"doublestar at start zero", td + "/**/sa/frontend", td + "/sa/frontend", true},
		{"doublestar at start many", td + "/**/sa/frontend", td + "/a/b/c/sa/frontend", true},
		{"doublestar at start suffix look-alike", td + "/**/sa/frontend", td + "/a/sa/frontend2", false},
		{"doublestar in middle zero", td + "/ns/**/frontend", td + "/ns/frontend", true},
		{"doublestar in middle many", td + "/ns/**/frontend", td + "/ns/a/b/frontend", true},
		{"doublestar in middle backtracks", td + "/ns/**/sa/frontend", td + "/ns/sa/x/sa/frontend", true},
		{"doublestar in middle wrong end", td + "/ns/**/frontend", td + "/ns/a/frontend/b", false},
		{"doublestar at end zero", td + "/ns/prod/**", td + "/ns/prod", true},
		{"doublestar at end one", td + "/ns/prod/**", td + "/ns/prod/sa", true},
		{"doublestar at end many", td + "/ns/prod/**", td + "/ns/prod/sa/x/y", true},
		{"doublestar at end prefix look-alike", td + "/ns/prod/**", td + "/ns/production/sa/x", false},
		{"doublestar whole domain", td + "/**", td + "/a", true},
		{"doublestar whole domain other domain", td + "/**", "spiffe://example.org.evil/a", false},
		{"two doublestars", td + "/**/sa/**", td + "/x/sa/y/z", true},
		{"two doublestars need sa", td + "/**/sa/**", td + "/x/sb/y/z", false},
		{"doublestar then star", td + "/ns/**/*", td + "/ns/a", true},
		{"doublestar then star needs one", td + "/ns/**/*", td + "/ns", false},

		{"glob prefix", td + "/sa/front*", td + "/sa/frontend", true},
		{"glob prefix empty rest", td + "/sa/front*", td + "/sa/front", true},
		{"glob prefix no cross segment", td + "/sa/front*", td + "/sa/front/x", false},
		{"glob suffix", td + "/sa/*-canary", td + "/sa/web-canary", true},
		{"glob suffix miss", td + "/sa/*-canary", td + "/sa/web-canary2", false},
		{"glob infix", td + "/sa/a*b*c", td + "/sa/aXXbYYc", true},
		{"glob infix overlap", td + "/sa/ab*ba", td + "/sa/aba", false},
		{"glob infix order", td + "/sa/a*b*c", td + "/sa/acb", false},
		{"glob case", td + "/sa/front*", td + "/sa/Frontend", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := compilePattern(tt.pattern)
			if err != nil {
				t.Fatalf("compilePattern(%q): %v", tt.pattern, err)
			}
			if got := p.match(tt.id); got != tt.want {
				t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.id, got, tt.want)
			}
		})
	}
}

func TestPatternErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    string
	}{
		{"no scheme", "example.org/a", `pattern "example.org/a" is invalid: it must start with "spiffe://"`},
		{"upper scheme", "SPIFFE://example.org/a", `pattern "SPIFFE://example.org/a" is invalid: it must start with "spiffe://"`},
		{"empty trust domain", "spiffe:///a", `pattern "spiffe:///a" is invalid: the trust domain is empty`},
		{"wildcard trust domain", "spiffe://*/a", `pattern "spiffe://*/a" is invalid: the trust domain must be literal; list each partner trust domain in its own pattern`},
		{"upper trust domain", "spiffe://Example.org/a", `pattern "spiffe://Example.org/a" is invalid: the trust domain must be lowercase`},
		{"port in trust domain", "spiffe://example.org:80/a", `pattern "spiffe://example.org:80/a" is invalid: the trust domain has the character ':', which SPIFFE does not allow`},
		{"no path", "spiffe://example.org", `pattern "spiffe://example.org" is invalid: it has no path; use "spiffe://example.org/**" to match every workload of the trust domain`},
		{"root path", "spiffe://example.org/", `pattern "spiffe://example.org/" is invalid: it has no path; use "spiffe://example.org/**" to match every workload of the trust domain`},
		{"trailing slash", "spiffe://example.org/a/", `pattern "spiffe://example.org/a/" is invalid: path segment 2: empty (a double or trailing '/')`},
		{"double slash", "spiffe://example.org/a//b", `pattern "spiffe://example.org/a//b" is invalid: path segment 2: empty (a double or trailing '/')`},
		{"dot segment", "spiffe://example.org/a/./b", `pattern "spiffe://example.org/a/./b" is invalid: path segment 2: "." is not allowed`},
		{"dotdot segment", "spiffe://example.org/../b", `pattern "spiffe://example.org/../b" is invalid: path segment 1: ".." is not allowed`},
		{"bad char", "spiffe://example.org/a b", `pattern "spiffe://example.org/a b" is invalid: path segment 1: the character ' ' is not allowed`},
		{"query", "spiffe://example.org/a?x=1", `pattern "spiffe://example.org/a?x=1" is invalid: path segment 1: the character '?' is not allowed`},
		{"percent", "spiffe://example.org/a%41", `pattern "spiffe://example.org/a%41" is invalid: path segment 1: the character '%' is not allowed`},
		{"doublestar in segment", "spiffe://example.org/a**", `pattern "spiffe://example.org/a**" is invalid: path segment 1: "**" must be a whole path segment`},
		{"triple star", "spiffe://example.org/***", `pattern "spiffe://example.org/***" is invalid: path segment 1: "**" must be a whole path segment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compilePattern(tt.pattern)
			if err == nil {
				t.Fatalf("compilePattern(%q) succeeded, want %q", tt.pattern, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("compilePattern(%q) error\n got %s\nwant %s", tt.pattern, err, tt.want)
			}
		})
	}
}

func TestValidateID(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want string // "" = valid
	}{
		{"valid", "spiffe://example.org/ns/prod/sa/x", ""},
		{"valid chars", "spiffe://ex-am_ple.org/A.b-c_d/9", ""},
		{"no path", "spiffe://example.org", `policy: invalid SPIFFE ID "spiffe://example.org": it has no path`},
		{"root path", "spiffe://example.org/", `policy: invalid SPIFFE ID "spiffe://example.org/": it has no path`},
		{"trailing slash", "spiffe://example.org/a/", `policy: invalid SPIFFE ID "spiffe://example.org/a/": it ends with '/'`},
		{"glob", "spiffe://example.org/a/*", `policy: invalid SPIFFE ID "spiffe://example.org/a/*": path segment "*": the character '*' is not allowed`},
		{"scheme", "http://example.org/a", `policy: invalid SPIFFE ID "http://example.org/a": it must start with "spiffe://"`},
		{"dotdot", "spiffe://example.org/a/../b", `policy: invalid SPIFFE ID "spiffe://example.org/a/../b": path segment "..": ".." is not allowed`},
		{"upper domain", "spiffe://EXAMPLE.org/a", `policy: invalid SPIFFE ID "spiffe://EXAMPLE.org/a": the trust domain must be lowercase`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID(tt.id)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateID(%q)\n got %q\nwant %q", tt.id, got, tt.want)
			}
			if v := validID(tt.id); v != (tt.want == "") {
				t.Errorf("validID(%q) = %v, disagrees with ValidateID", tt.id, v)
			}
		})
	}
}
