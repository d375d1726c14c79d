package identity

import (
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// MaxIDLength is the longest SPIFFE ID accepted, in bytes (SPIFFE-ID §2.3).
const MaxIDLength = 2048

const spiffePrefix = "spiffe://"

// ParseID parses a SPIFFE ID per the SPIFFE-ID spec: scheme "spiffe", a
// lowercase trust domain of [a-z0-9.-_], path segments of [a-zA-Z0-9.-_],
// no empty or dot segment, no trailing slash, no query, fragment, port or
// userinfo, at most MaxIDLength bytes. The root ID (no path) is valid.
// Errors are *RejectError with ReasonBadID and name the broken rule.
func ParseID(s string) (spiffeid.ID, error) {
	if msg := idSyntaxError(s); msg != "" {
		return spiffeid.ID{}, reject(ReasonBadID, "bad SPIFFE ID %s: %s", quote(s), msg)
	}
	id, err := spiffeid.FromString(s)
	if err != nil {
		// Unreachable when idSyntaxError is at least as strict as go-spiffe;
		// kept so that a divergence is an error, never a silent accept.
		return spiffeid.ID{}, reject(ReasonBadID, "bad SPIFFE ID %s: %v", quote(s), err)
	}
	return id, nil
}

// ParseWorkloadID is ParseID plus the rule that a workload ID has a path:
// the root ID of a trust domain is refused with ReasonRootPath.
func ParseWorkloadID(s string) (spiffeid.ID, error) {
	id, err := ParseID(s)
	if err != nil {
		return spiffeid.ID{}, err
	}
	if id.Path() == "" {
		return spiffeid.ID{}, reject(ReasonRootPath, "SPIFFE ID %s has no path: a workload ID needs one", quote(s))
	}
	return id, nil
}

// idSyntaxError returns the broken rule of s, "" when s is a valid ID.
func idSyntaxError(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > MaxIDLength:
		return "it is longer than 2048 bytes"
	case !strings.HasPrefix(s, spiffePrefix):
		if strings.HasPrefix(strings.ToLower(s), spiffePrefix) {
			return `the scheme must be lowercase "spiffe"`
		}
		return `the scheme must be "spiffe://"`
	case strings.ContainsRune(s, '?'):
		return "a query is not allowed"
	case strings.ContainsRune(s, '#'):
		return "a fragment is not allowed"
	}
	rest := s[len(spiffePrefix):]
	td, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		td, path = rest[:i], rest[i:]
	}
	if msg := trustDomainError(td); msg != "" {
		return msg
	}
	return pathError(path)
}

func trustDomainError(td string) string {
	if td == "" {
		return "the trust domain is missing"
	}
	for i := 0; i < len(td); i++ {
		c := td[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		case c == '@':
			return "userinfo is not allowed"
		case c == ':':
			return "a port is not allowed"
		case c >= 'A' && c <= 'Z':
			return "the trust domain must be lowercase"
		default:
			return "the trust domain holds a character other than a-z 0-9 . - _"
		}
	}
	return ""
}

func pathError(path string) string {
	if path == "" {
		return ""
	}
	if path == "/" || strings.HasSuffix(path, "/") {
		return "a trailing slash is not allowed"
	}
	for _, seg := range strings.Split(path[1:], "/") {
		switch seg {
		case "":
			return "an empty path segment is not allowed"
		case ".", "..":
			return "a dot path segment is not allowed"
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			default:
				return "a path segment holds a character other than a-z A-Z 0-9 . - _"
			}
		}
	}
	return ""
}
