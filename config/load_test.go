package config

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (name -> mode) with dummy content under dir.
func writeFiles(t testing.TB, dir string, files map[string]os.FileMode) {
	t.Helper()
	for name, mode := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			t.Fatal(err)
		}
	}
}

// writeConfig writes src as dir/ztunnel.hcl and returns its path.
func writeConfig(t testing.TB, dir, src string) string {
	t.Helper()
	p := filepath.Join(dir, "ztunnel.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const relConfig = `trust {
  trust_domain = "example.org"
  bundle       = "pki/ca.crt"
  crls         = ["./pki/../pki/ca.crl"]
}
gossip {
  listen   = "127.0.0.1:0"
  key_file = "gossip.key"
}
policy {
  file = "policy.hcl"
}
data_dir = "state"
tunnel {
  listen = "127.0.0.1:0"
}
workload "a" {
  id   = "spiffe://example.org/a"
  cert = "pki/a.crt"
  key  = "pki/a.key"
}
workload "b" {
  id = "spiffe://example.org/b"
  enroll {
    server     = "ca.example.org:8200"
    token_file = "b.token"
  }
}
`

func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]os.FileMode{
		"pki/ca.crt": 0o644, "pki/ca.crl": 0o644, "gossip.key": 0o600,
		"policy.hcl": 0o644, "pki/a.crt": 0o644, "pki/a.key": 0o600, "b.token": 0o600,
	})
	path := writeConfig(t, dir, relConfig)
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	j := func(p string) string { return filepath.Join(dir, p) }
	got := map[string]string{
		"File": c.File, "DataDir": c.DataDir, "Bundle": c.Trust.Bundle, "CRL": c.Trust.CRLs[0],
		"KeyFile": c.Gossip.KeyFile, "Policy": c.Policy.File, "Cert": c.Workloads[0].Cert,
		"Key": c.Workloads[0].Key, "Token": c.Workloads[1].Enroll.TokenFile,
	}
	want := map[string]string{
		"File": path, "DataDir": j("state"), "Bundle": j("pki/ca.crt"), "CRL": j("pki/ca.crl"),
		"KeyFile": j("gossip.key"), "Policy": j("policy.hcl"), "Cert": j("pki/a.crt"),
		"Key": j("pki/a.key"), "Token": j("b.token"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths:\n got %v\nwant %v", got, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", c.Warnings)
	}
}

func TestLoadFileProblems(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]os.FileMode{"pki/ca.crt": 0o644, "pki/a.crt": 0o644, "pki/a.key": 0o600, "b.token": 0o600})
	if err := os.Mkdir(filepath.Join(dir, "policy.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, relConfig)
	_, err := Load(path)
	want := []string{
		path + `:4:19: trust.crls[0]: cannot read "` + dir + `/pki/ca.crl": the file does not exist`,
		path + `:8:14: gossip.key_file: cannot read "` + dir + `/gossip.key": the file does not exist`,
		path + `:11:10: policy.file: "` + dir + `/policy.hcl" is a directory; expected a file`,
	}
	assertProblems(t, err, want)
}

func TestLoadUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]os.FileMode{"ca.crt": 0o000})
	path := writeConfig(t, dir, "trust {\n  trust_domain = \"example.org\"\n  bundle = \"ca.crt\"\n}\n")
	_, err := Load(path)
	assertProblems(t, err, []string{path + `:3:12: trust.bundle: cannot read "` + dir + `/ca.crt": permission denied`})
}

func TestLoadMissingConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.hcl")
	_, err := Load(path)
	assertProblems(t, err, []string{path + ": cannot read the config file: the file does not exist"})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
}

func TestLoadWarnsAboutReadableSecrets(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]os.FileMode{
		"pki/ca.crt": 0o644, "pki/ca.crl": 0o644, "gossip.key": 0o640,
		"policy.hcl": 0o644, "pki/a.crt": 0o644, "pki/a.key": 0o644, "b.token": 0o604,
	})
	c, err := Load(writeConfig(t, dir, relConfig))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{
		dir + "/gossip.key: gossip key is readable by other users (mode 0640); chmod 600 it",
		dir + "/pki/a.key: private key is readable by other users (mode 0644); chmod 600 it",
		dir + "/b.token: enroll token is readable by other users (mode 0604); chmod 600 it",
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("Warnings:\n got %q\nwant %q", c.Warnings, want)
	}
}

// TestLoadReportsAllProblems checks that one file with many mistakes, in
// the HCL layer, the values and the file system, reports each of them at
// its own line and column, in file order.
func TestLoadReportsAllProblems(t *testing.T) {
	dir := t.TempDir()
	src := `log_level = "loud"
trust {
  trust_domain = "example.org"
  bundle       = "missing.crt"
  revoke       = "yes"
}
tunnel {
  listen            = "0.0.0.0:99999"
  handshake_timeout = "10"
}
workload "a" {
  id     = "spiffe://evil.org/a"
  cert   = "/dev/null"
  key    = "/dev/null"
  enroll {
    server     = "10.0.0.9"
    token_file = "t"
  }
}
workload "a" {
  id = "spiffe://example.org/a"
  expose { port = 0 }
}
`
	path := writeConfig(t, dir, src)
	_, err := Load(path)
	want := []string{
		path + `:1:13: log_level: "loud" is not allowed; expected one of: trace, debug, info, warn, error`,
		path + `:4:18: trust.bundle: cannot read "` + dir + `/missing.crt": the file does not exist`,
		path + `:5:3: trust.revoke: unknown key (expected one of: bundle, crls, revocation, trust_domain)`,
		path + `:8:23: tunnel.listen: "0.0.0.0:99999" has port "99999"; expected a number from 0 to 65535`,
		path + `:9:23: tunnel.handshake_timeout: "10" is not a duration (use a unit, like "10s")`,
		path + `:12:12: workload.a.id: "spiffe://evil.org/a" is in trust domain "evil.org", not in the configured trust domain "example.org"`,
		path + `:15:3: workload.a: has both cert/key and an enroll block; use one certificate source`,
		path + `:20:1: workload.a: has no certificate source; set cert and key, or add an enroll block`,
		path + `:20:10: workload.a: "a" is given twice (first at line 11); each workload name must be unique`,
		path + `:22:3: workload.a.expose.backend: is required (the local backend address, like "127.0.0.1:8443")`,
		path + `:22:19: workload.a.expose.port: 0 is out of range; expected 1 to 65535`,
	}
	assertProblems(t, err, want)
}

func assertProblems(t testing.TB, err error, want []string) {
	t.Helper()
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v (%T), want a *LoadError", err, err)
	}
	if got := strings.Join(le.Problems, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("/etc/ztunnel/ztunnel.hcl", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "/etc/ztunnel/ztunnel.hcl", NodeName: "testhost", DataDir: "/var/lib/ztunnel",
		LogLevel: "info", LogFormat: "text", ShutdownTimeout: 30 * time.Second,
		Trust: Trust{TrustDomain: "example.org", Bundle: "/ca.crt", CRLs: []string{}, Revocation: "fail_closed"},
		Tunnel: Tunnel{
			Listen: "0.0.0.0:15008", Advertise: "192.0.2.7:15008", HandshakeTimeout: 10 * time.Second,
			MaxHandshakes: 256, StreamsPerSession: 512, SessionsPerPeer: 8, ConnsPerUpstream: 4096,
			MaxStreams: 4096, StreamWindow: 1 << 20, HandshakesPerIP: 64, PendingPerPeer: 1024,
			DialTimeout: 5 * time.Second, BackendDialTimeout: 5 * time.Second,
		},
		Admin:     Admin{Listen: "127.0.0.1:15000"},
		positions: map[string]string{}, // every listen address is a default
		Workloads: []Workload{},
		Peers:     []Peer{},
		Warnings: []string{
			"/etc/ztunnel/ztunnel.hcl: tunnel.advertise is not set; guessed 192.0.2.7:15008 from this host's interfaces (set it if peers cannot reach that address)",
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestDeriveAdvertise(t *testing.T) {
	tests := []struct {
		name    string
		listen  string
		addrs   []string
		want    string
		guessed bool
	}{
		{"specific IP is kept", "10.1.2.3:15008", nil, "10.1.2.3:15008", false},
		{"IPv6 specific IP is kept", "[2001:db8::1]:15008", nil, "[2001:db8::1]:15008", false},
		{"port 0 is kept", "127.0.0.1:0", nil, "127.0.0.1:0", false},
		{"wildcard uses first IPv4", "0.0.0.0:15008", []string{"127.0.0.1/8", "2001:db8::2/64", "10.9.8.7/8", "10.0.0.1/8"}, "10.9.8.7:15008", true},
		{"IPv6 wildcard uses first IPv4", "[::]:7946", []string{"172.16.0.5/12"}, "172.16.0.5:7946", true},
		{"host name uses first IPv4", "localhost:7946", []string{"172.16.0.5/12"}, "172.16.0.5:7946", true},
		{"only loopback falls back", "0.0.0.0:15008", []string{"127.0.0.1/8", "::1/128"}, "127.0.0.1:15008", true},
	}
	defer func(old func() ([]net.Addr, error)) { interfaceAddrs = old }(interfaceAddrs)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			interfaceAddrs = fakeAddrs(tt.addrs...)
			got, guessed := deriveAdvertise(tt.listen)
			if got != tt.want || guessed != tt.guessed {
				t.Errorf("deriveAdvertise(%q) = %q, %v; want %q, %v", tt.listen, got, guessed, tt.want, tt.guessed)
			}
		})
	}
}

func TestNodeNameFromHostname(t *testing.T) {
	defer func(old func() (string, error)) { hostname = old }(hostname)
	hostname = func() (string, error) { return "", errors.New("no name") }
	assertProblems(t, func() error { _, err := Parse("a.hcl", []byte(base)); return err }(),
		[]string{"a.hcl:1:1: node_name: is not set and this host's name is unknown; set node_name"})
}
