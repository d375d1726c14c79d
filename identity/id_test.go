package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	long := "spiffe://example.org/" + strings.Repeat("a", MaxIDLength-len("spiffe://example.org/"))
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "workload", in: "spiffe://example.org/ns/prod/sa/frontend"},
		{name: "root", in: "spiffe://example.org"},
		{name: "td chars", in: "spiffe://my-td_1.example.org/a"},
		{name: "path chars", in: "spiffe://example.org/A-b_c.D/9"},
		{name: "dots inside segment", in: "spiffe://example.org/a.../..b"},
		{name: "max length", in: long},
		{name: "empty", in: "", wantErr: `identity: bad SPIFFE ID "": it is empty`},
		{name: "too long", in: long + "a", wantErr: "it is longer than 2048 bytes"},
		{name: "no scheme", in: "example.org/a", wantErr: `identity: bad SPIFFE ID "example.org/a": the scheme must be "spiffe://"`},
		{name: "wrong scheme", in: "https://example.org/a", wantErr: `the scheme must be "spiffe://"`},
		{name: "uppercase scheme", in: "SPIFFE://example.org/a", wantErr: `the scheme must be lowercase "spiffe"`},
		{name: "missing slashes", in: "spiffe:example.org/a", wantErr: `the scheme must be "spiffe://"`},
		{name: "missing td", in: "spiffe:///a", wantErr: "the trust domain is missing"},
		{name: "empty td", in: "spiffe://", wantErr: "the trust domain is missing"},
		{name: "uppercase td", in: "spiffe://Example.org/a", wantErr: "the trust domain must be lowercase"},
		{name: "port", in: "spiffe://example.org:8443/a", wantErr: "a port is not allowed"},
		{name: "userinfo", in: "spiffe://user@example.org/a", wantErr: "userinfo is not allowed"},
		{name: "td bad char", in: "spiffe://exa%6dple.org/a", wantErr: "the trust domain holds a character other than a-z 0-9 . - _"},
		{name: "query", in: "spiffe://example.org/a?x=1", wantErr: "a query is not allowed"},
		{name: "fragment", in: "spiffe://example.org/a#f", wantErr: "a fragment is not allowed"},
		{name: "trailing slash", in: "spiffe://example.org/a/", wantErr: "a trailing slash is not allowed"},
		{name: "root trailing slash", in: "spiffe://example.org/", wantErr: "a trailing slash is not allowed"},
		{name: "empty segment", in: "spiffe://example.org/a//b", wantErr: "an empty path segment is not allowed"},
		{name: "dot segment", in: "spiffe://example.org/a/./b", wantErr: "a dot path segment is not allowed"},
		{name: "dotdot segment", in: "spiffe://example.org/a/..", wantErr: "a dot path segment is not allowed"},
		{name: "percent encoding", in: "spiffe://example.org/a%20b", wantErr: "a path segment holds a character other than a-z A-Z 0-9 . - _"},
		{name: "space", in: "spiffe://example.org/a b", wantErr: "a path segment holds a character other than a-z A-Z 0-9 . - _"},
		{name: "colon in path", in: "spiffe://example.org/a:b", wantErr: "a path segment holds a character other than a-z A-Z 0-9 . - _"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseID(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseID(%q) error %v", tt.in, err)
				}
				if id.String() != tt.in {
					t.Fatalf("ParseID(%q) = %q", tt.in, id.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseID(%q) = %q, want error", tt.in, id)
			}
			if !strings.HasSuffix(err.Error(), ": "+tt.wantErr) && err.Error() != tt.wantErr {
				t.Fatalf("ParseID(%q) error\n got %q\nwant suffix %q", tt.in, err, tt.wantErr)
			}
			if ReasonOf(err) != ReasonBadID {
				t.Fatalf("reason %q, want %q", ReasonOf(err), ReasonBadID)
			}
		})
	}
}

func TestParseWorkloadID(t *testing.T) {
	tests := []struct {
		name, in   string
		wantErr    string
		wantReason Reason
	}{
		{name: "workload", in: "spiffe://example.org/w"},
		{name: "root", in: "spiffe://example.org", wantErr: `identity: SPIFFE ID "spiffe://example.org" has no path: a workload ID needs one`, wantReason: ReasonRootPath},
		{name: "bad", in: "spiffe://example.org/a/", wantErr: `identity: bad SPIFFE ID "spiffe://example.org/a/": a trailing slash is not allowed`, wantReason: ReasonBadID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkloadID(tt.in)
			if errString(err) != tt.wantErr {
				t.Fatalf("error %q, want %q", errString(err), tt.wantErr)
			}
			var re *RejectError
			if tt.wantErr != "" && (!errors.As(err, &re) || re.Reason != tt.wantReason) {
				t.Fatalf("reason %q, want %q", ReasonOf(err), tt.wantReason)
			}
		})
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{
		"spiffe://example.org/ns/prod/sa/frontend", "spiffe://example.org", "spiffe://a/b/c",
		"spiffe://Example.org/a", "spiffe://e.org:1/a", "spiffe://e.org/a/../b", "spiffe://e.org/a?b#c", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if ReasonOf(err) != ReasonBadID {
				t.Fatalf("ParseID(%q) reason %q", s, ReasonOf(err))
			}
			return
		}
		if id.String() != s {
			t.Fatalf("ParseID(%q).String() = %q", s, id.String())
		}
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		if _, err := ParseID(id.TrustDomain().IDString()); err != nil {
			t.Fatalf("trust domain of %q does not parse: %v", s, err)
		}
	})
}
