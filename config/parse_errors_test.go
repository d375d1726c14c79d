package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// base is a valid config of four lines; the mistakes below start at line 5.
const base = `trust {
  trust_domain = "example.org"
  bundle       = "/ca.crt"
}
`

const wlOK = `workload "w" {
  id   = "spiffe://example.org/w"
  cert = "/w.crt"
  key  = "/w.key"
`

func TestParseMistakes(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown key", base + "nod_name = \"x\"\n", []string{
			`a.hcl:5:1: nod_name: unknown key (did you mean "node_name"?)`,
		}},
		{"unknown key far from any", base + "colour = \"x\"\n", []string{
			`a.hcl:5:1: colour: unknown key (expected one of: data_dir, log_format, log_level, max_procs, node_name, shutdown_timeout)`,
		}},
		{"max_procs negative", base + "max_procs = -1\n", []string{
			`a.hcl:5:13: max_procs: -1 is out of range; expected 0 (auto: half the CPUs) or a number of CPUs up to 1024`,
		}},
		{"unknown key in block", base + "tunnel {\n  listn = \"127.0.0.1:1\"\n}\n", []string{
			`a.hcl:6:3: tunnel.listn: unknown key (did you mean "listen"?)`,
		}},
		{"unknown block", base + "gosip {\n}\n", []string{
			`a.hcl:5:1: gosip: unknown block (did you mean "gossip"?)`,
		}},
		{"unknown block in block", base + "tunnel {\n  limits {\n  }\n}\n", []string{
			`a.hcl:6:3: tunnel.limits: unknown block (tunnel has no blocks)`,
		}},
		{"block written as key", base + "admin = \"127.0.0.1:1\"\n", []string{
			`a.hcl:5:1: admin: is a block, not a key (write admin { ... })`,
		}},
		{"key written as block", base + "admin {\n  listen {\n  }\n}\n", []string{
			`a.hcl:6:3: admin.listen: is a key, not a block (write listen = ...)`,
		}},
		{"block twice", base + "admin {\n}\nadmin {\n}\n", []string{
			`a.hcl:7:1: admin: block is given twice (the first is at line 5); merge them into one`,
		}},
		{"workload without name", base + "workload {\n}\n", []string{
			`a.hcl:5:1: workload: block needs one name (write workload "name" { ... })`,
		}},
		{"expose with name", base + wlOK + "  expose \"x\" {\n  }\n}\n", []string{
			`a.hcl:9:10: workload.w.expose: block takes no name (write expose { ... })`,
		}},
		{"syntax error", base + "tunnel {\n  listen = \n}\n", []string{
			`a.hcl:6:12: Invalid expression: expected the start of an expression, but found an invalid expression token`,
		}},
		{"key set twice", base + "log_level = \"info\"\nlog_level = \"debug\"\n", []string{
			`a.hcl:6:1: Attribute redefined: the argument "log_level" was already set at a.hcl:5,1-10`,
		}},
		{"several syntax errors", base + "log_level = 'info'\nlog_format = 'json'\n", []string{
			`a.hcl:5:13: Invalid character: single quotes are not valid`,
			`a.hcl:5:13: Invalid expression: expected the start of an expression, but found an invalid expression token`,
			`a.hcl:6:14: Invalid character: single quotes are not valid`,
		}},
		{"variable", base + "log_level = var.level\n", []string{
			`a.hcl:5:13: log_level: must be a literal value, not an expression (the config has no variables, functions or interpolation)`,
		}},
		{"interpolation", base + "node_name = \"${1e99999}\"\n", []string{
			`a.hcl:5:13: node_name: must be a literal value, not an expression (the config has no variables, functions or interpolation)`,
		}},
		{"huge number", base + "tunnel {\n  max_handshakes = 1e999999\n}\n", []string{
			`a.hcl:6:20: tunnel.max_handshakes: is out of range; expected a small whole number`,
		}},
		{"negative number", base + "tunnel {\n  max_handshakes = -1\n}\n", []string{
			`a.hcl:6:20: tunnel.max_handshakes: -1 is out of range; expected a number from 1 to 1048576`,
		}},
		{"wrong type string", base + "log_level = [\"info\"]\n", []string{
			`a.hcl:5:13: log_level: must be a string, not tuple`,
		}},
		{"wrong type number", base + "tunnel {\n  max_handshakes = \"many\"\n}\n", []string{
			`a.hcl:6:20: tunnel.max_handshakes: must be a whole number, not "many"`,
		}},
		{"fraction", base + "tunnel {\n  max_handshakes = 1.5\n}\n", []string{
			`a.hcl:6:20: tunnel.max_handshakes: must be a whole number, not 1.5`,
		}},
		{"wrong type bool", base + "admin {\n  pprof = \"yes\"\n}\n", []string{
			`a.hcl:6:11: admin.pprof: must be true or false, not "yes"`,
		}},
		{"wrong type list", base + "gossip {\n  key_file = \"/k\"\n  join = \"10.0.0.1:7946\"\n}\n", []string{
			`a.hcl:7:10: gossip.join: must be a list of strings, like ["a", "b"], not string`,
		}},
		{"wrong type list element", base + "gossip {\n  key_file = \"/k\"\n  join = [\"10.0.0.1:7946\", [1]]\n}\n", []string{
			`a.hcl:7:28: gossip.join[1]: must be a string, not tuple`,
		}},
		{"no trust block", "log_level = \"info\"\n", []string{
			`a.hcl:1:1: trust: block is required (it names the trust domain and its CA bundle)`,
		}},
		{"trust without keys", "trust {\n}\n", []string{
			`a.hcl:1:1: trust.trust_domain: is required (the trust domain, like "example.org")`,
			`a.hcl:1:1: trust.bundle: is required (the PEM file of the CA certificates)`,
		}},
		{"bad log level", base + "log_level = \"verbose\"\n", []string{
			`a.hcl:5:13: log_level: "verbose" is not allowed; expected one of: trace, debug, info, warn, error`,
		}},
		{"bad log format", base + "log_format = \"xml\"\n", []string{
			`a.hcl:5:14: log_format: "xml" is not allowed; expected one of: text, json`,
		}},
		{"bad revocation", "trust {\n  trust_domain = \"example.org\"\n  bundle = \"/ca\"\n  revocation = \"open\"\n}\n", []string{
			`a.hcl:4:16: trust.revocation: "open" is not allowed; expected one of: fail_closed, fail_open`,
		}},
		{"bad trust domain", "trust {\n  trust_domain = \"Example.org\"\n  bundle = \"/ca\"\n}\n", []string{
			`a.hcl:2:18: trust.trust_domain: "Example.org" is not a valid trust domain (trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores)`,
		}},
		{"trust domain as ID", "trust {\n  trust_domain = \"spiffe://example.org\"\n  bundle = \"/ca\"\n}\n", []string{
			`a.hcl:2:18: trust.trust_domain: "spiffe://example.org" is not a trust domain name; write only the name, like "example.org"`,
		}},
		{"bad duration", base + "tunnel {\n  handshake_timeout = \"10\"\n}\n", []string{
			`a.hcl:6:23: tunnel.handshake_timeout: "10" is not a duration (use a unit, like "10s")`,
		}},
		{"duration as number", base + "tunnel {\n  handshake_timeout = 10\n}\n", []string{
			`a.hcl:6:23: tunnel.handshake_timeout: "10" is not a duration (use a unit, like "10s")`,
		}},
		{"zero duration", base + "shutdown_timeout = \"0s\"\n", []string{
			`a.hcl:5:20: shutdown_timeout: "0s" must be longer than zero`,
		}},
		{"negative duration", base + "tunnel {\n  dial_timeout = \"-1s\"\n}\n", []string{
			`a.hcl:6:18: tunnel.dial_timeout: "-1s" must be longer than zero`,
		}},
		{"limit zero", base + "tunnel {\n  streams_per_session = 0\n}\n", []string{
			`a.hcl:6:25: tunnel.streams_per_session: 0 is out of range; expected a number from 1 to 1048576`,
		}},
		{"per-IP handshakes zero", base + "tunnel {\n  max_handshakes_per_ip = 0\n}\n", []string{
			`a.hcl:6:27: tunnel.max_handshakes_per_ip: 0 is out of range; expected a number from 1 to 1048576`,
		}},
		{"pending per peer negative", base + "tunnel {\n  pending_streams_per_peer = -5\n}\n", []string{
			`a.hcl:6:30: tunnel.pending_streams_per_peer: -5 is out of range; expected a number from 1 to 1048576`,
		}},
		{"limit too big", base + "tunnel {\n  conns_per_upstream = 2000000\n}\n", []string{
			`a.hcl:6:24: tunnel.conns_per_upstream: 2000000 is out of range; expected a number from 1 to 1048576`,
		}},
		{"bad address", base + "tunnel {\n  listen = \"15008\"\n}\n", []string{
			`a.hcl:6:12: tunnel.listen: "15008" is not a host:port address (use one like "127.0.0.1:9001")`,
		}},
		{"address without host", base + "tunnel {\n  listen = \":15008\"\n}\n", []string{
			`a.hcl:6:12: tunnel.listen: ":15008" has no host (write the IP explicitly, like "127.0.0.1:9001")`,
		}},
		{"listen port out of range", base + "tunnel {\n  listen = \"127.0.0.1:65536\"\n}\n", []string{
			`a.hcl:6:12: tunnel.listen: "127.0.0.1:65536" has port "65536"; expected a number from 0 to 65535`,
		}},
		{"dial port zero", base + "peer \"b\" {\n  address = \"10.0.0.2:0\"\n  workloads = [\"spiffe://example.org/w\"]\n}\n", []string{
			`a.hcl:6:13: peer.b.address: "10.0.0.2:0" has port "0"; expected a number from 1 to 65535`,
		}},
		{"bad host", base + "peer \"b\" {\n  address = \"bad_host:1\"\n  workloads = [\"spiffe://example.org/w\"]\n}\n", []string{
			`a.hcl:6:13: peer.b.address: "bad_host:1" has an invalid host "bad_host"; expected an IP address or a DNS name`,
		}},
		{"advertise unspecified", base + "tunnel {\n  advertise = \"0.0.0.0:15008\"\n}\n", []string{
			`a.hcl:6:15: tunnel.advertise: "0.0.0.0:15008" is not an address peers can reach; use this host's IP, like "10.0.0.1:15008"`,
		}},
		{"advertise host name", base + "gossip {\n  key_file = \"/k\"\n  advertise = \"host-a:7946\"\n}\n", []string{
			`a.hcl:7:15: gossip.advertise: "host-a:7946" must have an IP address, not a host name (use one like "10.0.0.1:15008")`,
		}},
		{"admin not loopback", base + "admin {\n  listen = \"0.0.0.0:15000\"\n}\n", []string{
			`a.hcl:6:12: admin.listen: "0.0.0.0:15000" is not a loopback address; the admin API has no authentication, so use 127.0.0.1, [::1] or a unix socket path`,
		}},
		{"metrics listen not an address", base + "admin {\n  metrics_listen = \"metrics\"\n}\n", []string{
			`a.hcl:6:20: admin.metrics_listen: "metrics" is not a host:port address (use one like "127.0.0.1:9001")`,
		}},
		{"metrics listen on the admin port", base + "admin {\n  listen = \"127.0.0.1:15000\"\n  metrics_listen = \"127.0.0.1:15000\"\n}\n", []string{
			`a.hcl:7:20: admin.metrics_listen: "127.0.0.1:15000" is already used by admin.listen (line 6); each listener needs its own address`,
		}},
		{"admin relative socket", base + "admin {\n  listen = \"admin.sock\"\n}\n", []string{
			`a.hcl:6:12: admin.listen: "admin.sock" is neither host:port on a loopback address nor an absolute unix socket path (use one like "127.0.0.1:15000" or "/run/ztunnel/admin.sock")`,
		}},
		{"bad ID", base + "workload \"w\" {\n  id = \"spiffe://example.org/a//b\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:6:8: workload.w.id: "spiffe://example.org/a//b" is not a valid SPIFFE ID (path cannot contain empty segments); expected one like "spiffe://example.org/ns/prod/sa/web"`,
		}},
		{"root ID", base + "workload \"w\" {\n  id = \"spiffe://example.org\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:6:8: workload.w.id: "spiffe://example.org" has no path; a workload ID needs one, like "spiffe://example.org/ns/prod/sa/web"`,
		}},
		{"ID in other trust domain", base + "workload \"w\" {\n  id = \"spiffe://other.org/w\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:6:8: workload.w.id: "spiffe://other.org/w" is in trust domain "other.org", not in the configured trust domain "example.org"`,
		}},
		{"target in other trust domain", base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://other.org/x\"\n  }\n}\n", []string{
			`a.hcl:11:14: workload.w.upstream.u.target: "spiffe://other.org/x" is in trust domain "other.org", not in the configured trust domain "example.org"`,
		}},
		{"peer workload in other trust domain", base + "peer \"b\" {\n  address = \"10.0.0.2:15008\"\n  workloads = [\"spiffe://example.org/a\", \"spiffe://other.org/b\"]\n}\n", []string{
			`a.hcl:7:42: peer.b.workloads[1]: "spiffe://other.org/b" is in trust domain "other.org", not in the configured trust domain "example.org"`,
		}},
		{"duplicate workload name", base + wlOK + "}\nworkload \"w\" {\n  id = \"spiffe://example.org/v\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:10:10: workload.w: "w" is given twice (first at line 5); each workload name must be unique`,
		}},
		{"duplicate workload ID", base + wlOK + "}\nworkload \"v\" {\n  id = \"spiffe://example.org/w\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:11:8: workload.v.id: "spiffe://example.org/w" is given twice (first at line 6); each workload ID must be unique`,
		}},
		{"bad workload name", base + "workload \"my app\" {\n  id = \"spiffe://example.org/w\"\n  cert = \"/c\"\n  key = \"/k\"\n}\n", []string{
			`a.hcl:5:10: workload.my app: "my app" is not a valid name; use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
		}},
		{"duplicate upstream name", base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:1\"\n    target = \"spiffe://example.org/x\"\n  }\n  upstream \"u\" {\n    listen = \"127.0.0.1:2\"\n    target = \"spiffe://example.org/x\"\n  }\n}\n", []string{
			`a.hcl:13:12: workload.w.upstream.u: "u" is given twice (first at line 9); each upstream name in a workload must be unique`,
		}},
		{"duplicate upstream listen", base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:9001\"\n    target = \"spiffe://example.org/x\"\n  }\n  upstream \"v\" {\n    listen = \"127.0.0.1:09001\"\n    target = \"spiffe://example.org/y\"\n  }\n}\n", []string{
			`a.hcl:14:14: workload.w.upstream.v.listen: "127.0.0.1:9001" is already used by workload.w.upstream.u.listen (line 10); each listener needs its own address`,
		}},
		{"upstream listen on tunnel port", base + "tunnel {\n  listen = \"127.0.0.1:15008\"\n}\n" + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:15008\"\n    target = \"spiffe://example.org/x\"\n  }\n}\n", []string{
			`a.hcl:13:14: workload.w.upstream.u.listen: "127.0.0.1:15008" is already used by tunnel.listen (line 6); each listener needs its own address`,
		}},
		{"upstream port out of range", base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://example.org/x\"\n    port = 70000\n  }\n}\n", []string{
			`a.hcl:12:12: workload.w.upstream.u.port: 70000 is out of range; expected 1 to 65535, or 0 for the target's only port`,
		}},
		{"upstream missing keys", base + wlOK + "  upstream \"u\" {\n  }\n}\n", []string{
			`a.hcl:9:3: workload.w.upstream.u.listen: is required (the local address, like "127.0.0.1:9001")`,
			`a.hcl:9:3: workload.w.upstream.u.target: is required (the SPIFFE ID of the remote workload)`,
		}},
		{"bad pin", base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://example.org/x\"\n    pin = [\"sha256/AAAA\", \"md5/x\"]\n  }\n}\n", []string{
			`a.hcl:12:12: workload.w.upstream.u.pin[0]: "sha256/AAAA" is not a pin; expected "sha256/" and the standard base64 of 32 bytes (44 characters)`,
			`a.hcl:12:27: workload.w.upstream.u.pin[1]: "md5/x" is not a pin; expected "sha256/" and base64, as printed by ztunnel cert inspect`,
		}},
		{"duplicate expose port", base + wlOK + "  expose {\n    port = 80\n    backend = \"127.0.0.1:80\"\n  }\n  expose {\n    port = 80\n    backend = \"127.0.0.1:81\"\n  }\n}\n", []string{
			`a.hcl:14:12: workload.w.expose.port: 80 is already exposed by this workload (line 10); each expose block needs its own port`,
		}},
		{"expose port out of range", base + wlOK + "  expose {\n    port = 0\n    backend = \"127.0.0.1:80\"\n  }\n}\n", []string{
			`a.hcl:10:12: workload.w.expose.port: 0 is out of range; expected 1 to 65535`,
		}},
		{"expose missing keys", base + wlOK + "  expose {\n  }\n}\n", []string{
			`a.hcl:9:3: workload.w.expose.port: is required (the port peers ask for, like 8443)`,
			`a.hcl:9:3: workload.w.expose.backend: is required (the local backend address, like "127.0.0.1:8443")`,
		}},
		{"both cert and enroll", base + wlOK + "  enroll {\n    server = \"10.0.0.9:8200\"\n    token_file = \"/t\"\n  }\n}\n", []string{
			`a.hcl:9:3: workload.w: has both cert/key and an enroll block; use one certificate source`,
		}},
		{"neither cert nor enroll", base + "workload \"w\" {\n  id = \"spiffe://example.org/w\"\n}\n", []string{
			`a.hcl:5:1: workload.w: has no certificate source; set cert and key, or add an enroll block`,
		}},
		{"cert without key", base + "workload \"w\" {\n  id = \"spiffe://example.org/w\"\n  cert = \"/c\"\n}\n", []string{
			`a.hcl:5:1: workload.w.key: is required (the private key file, given together with cert)`,
		}},
		{"enroll missing keys", base + "workload \"w\" {\n  id = \"spiffe://example.org/w\"\n  enroll {\n  }\n}\n", []string{
			`a.hcl:7:3: workload.w.enroll.server: is required (host:port of the CA server, like "10.0.0.9:8200")`,
			`a.hcl:7:3: workload.w.enroll.token_file: is required (the file holding the one-time join token)`,
		}},
		{"duplicate peer name", base + "peer \"b\" {\n  address = \"10.0.0.2:15008\"\n  workloads = [\"spiffe://example.org/a\"]\n}\npeer \"b\" {\n  address = \"10.0.0.3:15008\"\n  workloads = [\"spiffe://example.org/b\"]\n}\n", []string{
			`a.hcl:9:6: peer.b: "b" is given twice (first at line 5); each peer name must be unique`,
		}},
		{"peer without workloads", base + "peer \"b\" {\n  address = \"10.0.0.2:15008\"\n  workloads = []\n}\n", []string{
			`a.hcl:7:15: peer.b.workloads: must list at least one SPIFFE ID served by the peer`,
		}},
		{"gossip without key file", base + "gossip {\n  join = [\"10.0.0.2:0\"]\n}\n", []string{
			`a.hcl:5:1: gossip.key_file: is required (the file of base64 gossip keys, see ztunnel keygen)`,
			`a.hcl:6:11: gossip.join[0]: "10.0.0.2:0" has port "0"; expected a number from 1 to 65535`,
		}},
		{"empty path", base + "policy {\n  file = \"\"\n}\n", []string{
			`a.hcl:6:10: policy.file: must not be empty; expected a path`,
		}},
		{"policy without file", base + "policy {\n}\n", []string{
			`a.hcl:5:1: policy.file: is required (the policy file)`,
		}},
		{"bad node name", base + "node_name = \"host a\"\n", []string{
			`a.hcl:5:13: node_name: "host a" is not a valid node name; use 1 to 253 characters without spaces`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseProblems(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// parseProblems parses src as "a.hcl" and returns its problems (nil when
// the config is valid).
func parseProblems(t testing.TB, src string) []string {
	t.Helper()
	_, err := Parse("a.hcl", []byte(src))
	if err == nil {
		return nil
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("Parse error is %T, want *LoadError: %v", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false")
	}
	if le.Error() != strings.Join(le.Problems, "\n") {
		t.Errorf("Error() does not join Problems with newlines")
	}
	return le.Problems
}

// TestParseNormalizes checks the canonical forms of accepted values.
func TestParseNormalizes(t *testing.T) {
	tests := []struct {
		name string
		src  string
		get  func(*Config) any
		want any
	}{
		{"port without leading zero", "tunnel {\n  listen = \"127.0.0.1:015008\"\n}\n", func(c *Config) any { return c.Tunnel.Listen }, "127.0.0.1:15008"},
		{"IPv4-mapped IPv6 unmapped", "tunnel {\n  listen = \"[::ffff:10.0.0.1]:1\"\n}\n", func(c *Config) any { return c.Tunnel.Advertise }, "10.0.0.1:1"},
		{"IPv6 listen", "tunnel {\n  listen = \"[::1]:0\"\n}\n", func(c *Config) any { return c.Tunnel.Advertise }, "[::1]:0"},
		{"admin unix socket cleaned", "admin {\n  listen = \"/run/x/../ztunnel.sock\"\n}\n", func(c *Config) any { return c.Admin.Listen }, "/run/ztunnel.sock"},
		{"admin localhost", "admin {\n  listen = \"localhost:0\"\n}\n", func(c *Config) any { return c.Admin.Listen }, "localhost:0"},
		{"admin IPv6 loopback", "admin {\n  listen = \"[::1]:15000\"\n}\n", func(c *Config) any { return c.Admin.Listen }, "[::1]:15000"},
		{"DNS name join", "gossip {\n  key_file = \"/k\"\n  join = [\"Gossip.example.org:7946\"]\n}\n", func(c *Config) any { return c.Gossip.Join }, []string{"Gossip.example.org:7946"}},
		{"number as string", "tunnel {\n  max_handshakes = \"12\"\n}\n", func(c *Config) any { return c.Tunnel.MaxHandshakes }, 12},
		{"per-IP share follows max_handshakes", "tunnel {\n  max_handshakes = 8\n}\n", func(c *Config) any { return c.Tunnel.HandshakesPerIP }, 2},
		{"per-IP share set", "tunnel {\n  max_handshakes = 8\n  max_handshakes_per_ip = 8\n}\n", func(c *Config) any { return c.Tunnel.HandshakesPerIP }, 8},
		{"pending quota follows max_streams", "tunnel {\n  max_streams = 40\n}\n", func(c *Config) any { return c.Tunnel.PendingPerPeer }, 10},
		{"pending quota follows streams_per_session", "tunnel {\n  streams_per_session = 3\n}\n", func(c *Config) any { return c.Tunnel.PendingPerPeer }, 6},
		{"null is unset", "log_level = null\n", func(c *Config) any { return c.LogLevel }, "info"},
		{"duration normalized", "shutdown_timeout = \"1h0m90s\"\n", func(c *Config) any { return c.ShutdownTimeout.String() }, "1h1m30s"},
		{"port 0 listens never conflict", wlOK + "  upstream \"a\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://example.org/x\"\n  }\n  upstream \"b\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://example.org/y\"\n  }\n}\n", func(c *Config) any { return len(c.Workloads[0].Upstreams) }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("a.hcl", []byte(base+tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := tt.get(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestStreamLimits(t *testing.T) {
	for _, tc := range []struct {
		name, hcl, want string
	}{
		{"window too small", "  stream_window = 1024\n", "tunnel.stream_window: 1024 bytes is out of range; expected 262144 (256 KiB) to 67108864 (64 MiB)"},
		{"window too large", "  stream_window = 134217728\n", "tunnel.stream_window: 134217728 bytes is out of range; expected 262144 (256 KiB) to 67108864 (64 MiB)"},
		{"max streams zero", "  max_streams = 0\n", "tunnel.max_streams: 0 is out of range; expected a number from 1 to 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "trust {\n  trust_domain = \"example.org\"\n  bundle = \"/ca.crt\"\n}\ntunnel {\n  advertise = \"10.0.0.1:15008\"\n" + tc.hcl + "}\n"
			_, err := Parse("a.hcl", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	c, err := Parse("a.hcl", []byte("trust {\n  trust_domain = \"example.org\"\n  bundle = \"/ca.crt\"\n}\ntunnel {\n  advertise = \"10.0.0.1:15008\"\n  max_streams = 100\n  stream_window = 4194304\n}\n"))
	if err != nil || c.Tunnel.MaxStreams != 100 || c.Tunnel.StreamWindow != 4<<20 {
		t.Fatalf("set limits: %+v %v", c.Tunnel, err)
	}
}
