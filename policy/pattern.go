package policy

import (
	"fmt"
	"strings"
)

const (
	spiffeScheme = "spiffe://"
	// maxIDLen is the SPIFFE limit on the length of an ID (a URI).
	maxIDLen = 2048
)

// segKind is the kind of one compiled path segment of a pattern.
type segKind uint8

const (
	segLiteral segKind = iota // matches itself only
	segStar                   // "*": exactly one segment
	segGlob                   // "*" inside a segment: parts around the stars
	segAny                    // "**": zero or more segments
)

type segment struct {
	kind  segKind
	lit   string   // segLiteral
	parts []string // segGlob: the literal text between stars, len >= 2
}

// pattern is a compiled from/to entry of a rule. It is immutable.
type pattern struct {
	src    string
	exact  bool   // no glob at all: the whole ID is compared with src
	prefix string // "spiffe://" + trust domain
	segs   []segment
}

// compilePattern checks a pattern and compiles it. The error is one
// sentence without position; the parser adds it.
func compilePattern(s string) (*pattern, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("pattern %q is invalid: "+format, append([]any{s}, args...)...)
	}
	if len(s) > maxIDLen {
		return nil, bad("longer than %d bytes", maxIDLen)
	}
	if !strings.HasPrefix(s, spiffeScheme) {
		return nil, bad("it must start with %q", spiffeScheme)
	}
	rest := s[len(spiffeScheme):]
	td, path, hasPath := strings.Cut(rest, "/")
	if err := checkTrustDomain(td); err != nil {
		return nil, bad("%v", err)
	}
	if !hasPath || path == "" {
		return nil, bad("it has no path; use %q to match every workload of the trust domain", spiffeScheme+td+"/**")
	}
	p := &pattern{src: s, exact: true, prefix: spiffeScheme + td}
	for i, seg := range strings.Split(path, "/") {
		if err := checkSegment(seg, true); err != nil {
			return nil, bad("path segment %d: %v", i+1, err)
		}
		switch {
		case seg == "**":
			p.exact = false
			// "**/**" means the same as "**"; keep one so matching stays linear.
			if n := len(p.segs); n > 0 && p.segs[n-1].kind == segAny {
				continue
			}
			p.segs = append(p.segs, segment{kind: segAny})
		case strings.Contains(seg, "**"):
			return nil, bad("path segment %d: \"**\" must be a whole path segment", i+1)
		case seg == "*":
			p.exact = false
			p.segs = append(p.segs, segment{kind: segStar})
		case strings.Contains(seg, "*"):
			p.exact = false
			p.segs = append(p.segs, segment{kind: segGlob, parts: strings.Split(seg, "*")})
		default:
			p.segs = append(p.segs, segment{kind: segLiteral, lit: seg})
		}
	}
	return p, nil
}

// checkTrustDomain applies the SPIFFE trust domain rules: non-empty,
// lowercase letters, digits, '.', '-' and '_'.
func checkTrustDomain(td string) error {
	if td == "" {
		return fmt.Errorf("the trust domain is empty")
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		switch {
		case c == '*':
			return fmt.Errorf("the trust domain must be literal; list each partner trust domain in its own pattern")
		case c >= 'A' && c <= 'Z':
			return fmt.Errorf("the trust domain must be lowercase")
		case !isTrustDomainChar(c):
			return fmt.Errorf("the trust domain has the character %q, which SPIFFE does not allow", c)
		}
	}
	return nil
}

// checkSegment applies the SPIFFE path segment rules (non-empty, not "." or
// "..", letters, digits, '.', '-', '_'); glob allows '*' as well.
func checkSegment(seg string, glob bool) error {
	switch seg {
	case "":
		return fmt.Errorf("empty (a double or trailing '/')")
	case ".", "..":
		return fmt.Errorf("%q is not allowed", seg)
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '*' && glob {
			continue
		}
		if !isPathChar(c) {
			return fmt.Errorf("the character %q is not allowed", c)
		}
	}
	return nil
}

func isTrustDomainChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'
}

func isPathChar(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '.' || c == '-' || c == '_'
}

// ValidateID reports whether id is a SPIFFE workload ID (a trust domain and
// a non-empty path), the form Request.From and Request.To must have. The
// error wraps ErrInvalidID.
func ValidateID(id string) error {
	if err := checkID(id); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidID, id, err)
	}
	return nil
}

func checkID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("longer than %d bytes", maxIDLen)
	}
	if !strings.HasPrefix(id, spiffeScheme) {
		return fmt.Errorf("it must start with %q", spiffeScheme)
	}
	td, path, hasPath := strings.Cut(id[len(spiffeScheme):], "/")
	if err := checkTrustDomain(td); err != nil {
		return err
	}
	if !hasPath || path == "" {
		return fmt.Errorf("it has no path")
	}
	for path != "" {
		seg, rest, _ := strings.Cut(path, "/")
		if err := checkSegment(seg, false); err != nil {
			return fmt.Errorf("path segment %q: %v", seg, err)
		}
		if rest == "" && len(seg) < len(path) { // trailing '/'
			return fmt.Errorf("it ends with '/'")
		}
		path = rest
	}
	return nil
}

// validID is checkID without building an error, for the hot path.
func validID(id string) bool {
	if len(id) > maxIDLen || !strings.HasPrefix(id, spiffeScheme) {
		return false
	}
	s := id[len(spiffeScheme):]
	i := 0
	for i < len(s) && s[i] != '/' {
		if !isTrustDomainChar(s[i]) {
			return false
		}
		i++
	}
	if i == 0 || i >= len(s)-1 { // empty trust domain, no path, or only "/"
		return false
	}
	// s[i] == '/': every segment after it is non-empty and not "." or "..".
	segStart := i + 1
	for j := segStart; j <= len(s); j++ {
		if j < len(s) && s[j] != '/' {
			if !isPathChar(s[j]) {
				return false
			}
			continue
		}
		seg := s[segStart:j]
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		segStart = j + 1
	}
	return true
}

// match reports whether the pattern matches id. It never panics and never
// allocates; id is expected to have passed validID.
func (p *pattern) match(id string) bool {
	if p.exact {
		return id == p.src
	}
	if !strings.HasPrefix(id, p.prefix) {
		return false
	}
	rest := id[len(p.prefix):]
	switch {
	case rest == "":
		return p.matchPath("") // the trust domain itself: zero segments
	case rest[0] != '/':
		return false // a longer trust domain: "example.org" vs "example.org2"
	}
	return p.matchPath(rest[1:])
}

// matchPath matches the '/'-separated segments of path ("" has none)
// against p.segs. pos is the byte offset of the next input segment;
// pos > len(path) means no segment is left. The algorithm is the classic
// greedy wildcard match with one backtracking point at the last "**" seen,
// which is correct because every other kind of segment consumes exactly
// one input segment. It runs in O(len(path) * len(p.segs)) at worst.
func (p *pattern) matchPath(path string) bool {
	pos := 0
	if path == "" {
		pos = 1 // no segment at all
	}
	pi := 0
	starPi, starPos := -1, 0
	for pos <= len(path) {
		end := strings.IndexByte(path[pos:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += pos
		}
		seg, next := path[pos:end], end+1
		if pi < len(p.segs) {
			s := &p.segs[pi]
			if s.kind == segAny {
				starPi, starPos = pi, pos
				pi++
				continue
			}
			if s.matchSeg(seg) {
				pi++
				pos = next
				continue
			}
		}
		if starPi < 0 {
			return false
		}
		// Let the last "**" swallow one more segment and retry after it.
		e := strings.IndexByte(path[starPos:], '/')
		if e < 0 {
			starPos = len(path) + 1
		} else {
			starPos += e + 1
		}
		pi, pos = starPi+1, starPos
	}
	for pi < len(p.segs) && p.segs[pi].kind == segAny {
		pi++
	}
	return pi == len(p.segs)
}

func (s *segment) matchSeg(seg string) bool {
	switch s.kind {
	case segLiteral:
		return seg == s.lit
	case segStar:
		return seg != ""
	case segGlob:
		return globMatch(s.parts, seg)
	}
	return false
}

// globMatch matches seg against parts, the literal text around the stars
// of one segment: seg starts with parts[0], ends with the last part, and
// holds the middle parts in order, without overlap.
func globMatch(parts []string, seg string) bool {
	first, last := parts[0], parts[len(parts)-1]
	if len(seg) < len(first)+len(last) || !strings.HasPrefix(seg, first) || !strings.HasSuffix(seg, last) {
		return false
	}
	mid := seg[len(first) : len(seg)-len(last)]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(mid, part)
		if i < 0 {
			return false
		}
		mid = mid[i+len(part):]
	}
	return true
}
