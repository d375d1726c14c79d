package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// The value checks below return "" when the value is good, else the part of
// a problem sentence after "key: ".

// addrRule says which host:port values an address key accepts.
type addrRule int

const (
	addrDial      addrRule = iota // host or IP, port 1..65535
	addrListen                    // host or IP, port 0..65535 (0 = any free port)
	addrAdvertise                 // a specific IP, port 0..65535
)

// checkAddr checks a host:port value and returns its canonical form
// (port without leading zeros, IPv6 in brackets).
func checkAddr(s string, rule addrRule) (string, string) {
	example := map[addrRule]string{
		addrDial:      `"10.0.0.2:15008"`,
		addrListen:    `"127.0.0.1:9001"`,
		addrAdvertise: `"10.0.0.1:15008"`,
	}[rule]
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Sprintf("%q is not a host:port address (use one like %s)", s, example)
	}
	if host == "" {
		return "", fmt.Sprintf("%q has no host (write the IP explicitly, like %s)", s, example)
	}
	port, err := strconv.Atoi(portStr)
	minPort := 1
	if rule != addrDial {
		minPort = 0
	}
	if err != nil || port < minPort || port > 65535 {
		return "", fmt.Sprintf("%q has port %q; expected a number from %d to 65535", s, portStr, minPort)
	}
	ip, ipErr := netip.ParseAddr(host)
	switch {
	case ipErr == nil && ip.Zone() != "":
		return "", fmt.Sprintf("%q has an IPv6 zone; use an address without %%zone", s)
	case rule == addrAdvertise && ipErr != nil:
		return "", fmt.Sprintf("%q must have an IP address, not a host name (use one like %s)", s, example)
	case rule == addrAdvertise && ip.IsUnspecified():
		return "", fmt.Sprintf("%q is not an address peers can reach; use this host's IP, like %s", s, example)
	case ipErr != nil && !validHostname(host):
		return "", fmt.Sprintf("%q has an invalid host %q; expected an IP address or a DNS name", s, host)
	}
	if ipErr == nil {
		host = ip.Unmap().String()
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), ""
}

// validHostname reports whether h is a DNS name by RFC 1123 (letters,
// digits and hyphens in dot-separated labels of at most 63 characters).
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkAdminListen accepts host:port on a loopback address ("localhost"
// included) or an absolute unix socket path.
func checkAdminListen(s string) (string, string) {
	if strings.HasPrefix(s, "/") {
		return filepath.Clean(s), ""
	}
	canon, msg := checkAddr(s, addrListen)
	if msg != "" {
		return "", fmt.Sprintf("%q is neither host:port on a loopback address nor an absolute unix socket path (use one like \"127.0.0.1:15000\" or \"/run/ztunnel/admin.sock\")", s)
	}
	host, _, _ := net.SplitHostPort(canon)
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() || host == "localhost" {
		return canon, ""
	}
	return "", fmt.Sprintf("%q is not a loopback address; the admin API has no authentication, so use 127.0.0.1, [::1] or a unix socket path", s)
}

// checkTrustDomain accepts a bare SPIFFE trust-domain name.
func checkTrustDomain(s string) string {
	if strings.Contains(s, ":") || strings.Contains(s, "/") {
		return fmt.Sprintf("%q is not a trust domain name; write only the name, like \"example.org\"", s)
	}
	if _, err := spiffeid.TrustDomainFromString(s); err != nil {
		return fmt.Sprintf("%q is not a valid trust domain (%v)", s, err)
	}
	return ""
}

// checkID accepts a SPIFFE ID with a non-root path in trust domain td (td
// may be "" when the trust domain itself is invalid or missing: then only
// the syntax is checked).
func checkID(s, td string) string {
	id, err := spiffeid.FromString(s)
	if err != nil {
		return fmt.Sprintf("%q is not a valid SPIFFE ID (%v); expected one like \"spiffe://example.org/ns/prod/sa/web\"", s, err)
	}
	if id.Path() == "" {
		return fmt.Sprintf("%q has no path; a workload ID needs one, like \"spiffe://%s/ns/prod/sa/web\"", s, id.TrustDomain().Name())
	}
	if td != "" && id.TrustDomain().Name() != td {
		return fmt.Sprintf("%q is in trust domain %q, not in the configured trust domain %q", s, id.TrustDomain().Name(), td)
	}
	return ""
}

// checkPin accepts "sha256/" followed by the standard base64 of 32 bytes.
func checkPin(s string) string {
	b64, ok := strings.CutPrefix(s, "sha256/")
	if !ok {
		return fmt.Sprintf("%q is not a pin; expected \"sha256/\" and base64, as printed by ztunnel cert inspect", s)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return fmt.Sprintf("%q is not a pin; expected \"sha256/\" and the standard base64 of 32 bytes (44 characters)", s)
	}
	return ""
}

// checkDuration parses a positive Go duration.
func checkDuration(s string) (time.Duration, string) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a duration (use a unit, like \"10s\")", s)
	}
	if d <= 0 {
		return 0, fmt.Sprintf("%q must be longer than zero", s)
	}
	return d, ""
}

// checkName accepts a block name: 1..63 letters, digits, '.', '_', '-',
// starting with a letter or digit. Names appear in logs and metrics.
func checkName(s string) string {
	ok := s != "" && len(s) <= 63
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Sprintf("%q is not a valid name; use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit", s)
	}
	return ""
}

// oneOf checks s against the allowed values.
func oneOf(s string, allowed ...string) string {
	for _, a := range allowed {
		if s == a {
			return ""
		}
	}
	return fmt.Sprintf("%q is not allowed; expected one of: %s", s, strings.Join(allowed, ", "))
}
