package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the CLI in-process and returns exit code, stdout, stderr.
func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"no args prints usage", nil, 0, "Usage:", ""},
		{"help", []string{"--help"}, 0, "ztunnel cert issue", ""},
		{"version", []string{"version"}, 0, "ztunnel dev", ""},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"group alone", []string{"ca"}, 2, "", "a subcommand is required"},
		{"command help", []string{"cert", "issue", "--help"}, 0, "", "--ttl"},
		{"missing flag", []string{"validate"}, 2, "", "--config is required"},
		{"bad flag", []string{"agent", "--nope"}, 2, "", "unknown flag: --nope"},
		{"stray argument", []string{"keygen", "extra"}, 2, "", `unexpected argument "extra"`},
		{"policy check bad port", []string{"policy", "check", "--policy", "x", "--from", "spiffe://a/b", "--to", "spiffe://a/c", "--port", "70000"}, 2, "", "out of range"},
		{"policy check bad id", []string{"policy", "check", "--policy", "x", "--from", "web", "--to", "spiffe://a/c"}, 2, "", "invalid SPIFFE ID"},
		{"status unreachable", []string{"status", "--admin", "127.0.0.1:1"}, 1, "", "cannot reach the agent's admin API"},
		{"ca init zero ttl", []string{"ca", "init", "--dir", "x", "--trust-domain", "example.org", "--ttl", "0s"}, 2, "", "ztunnel ca init: --ttl must be a positive duration such as 24h, not 0s"},
		{"ca token zero ttl", []string{"ca", "token", "--dir", "x", "--id", "spiffe://example.org/a", "--ttl", "0s"}, 2, "", "ztunnel ca token: --ttl must be a positive duration"},
		{"ca serve negative ttl", []string{"ca", "serve", "--dir", "x", "--listen", "127.0.0.1:0", "--svid-ttl", "-1h"}, 2, "", "ztunnel ca serve: --svid-ttl must be a positive duration such as 24h, not -1h0m0s"},
		{"ca serve bad log level", []string{"ca", "serve", "--dir", "x", "--listen", "127.0.0.1:0", "--log-level", "loud"}, 2, "", `--log-level "loud" is not one of trace, debug, info, warn, error`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}

// pkiDir makes a CA and two workload certificates with the CLI itself.
func pkiDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	if code, _, e := runCmd("ca", "init", "--dir", pki, "--trust-domain", "example.org"); code != 0 {
		t.Fatalf("ca init: %s", e)
	}
	if code, _, e := runCmd("ca", "init", "--dir", pki, "--trust-domain", "example.org"); code != 1 || !strings.Contains(e, "exist") {
		t.Fatalf("second ca init must refuse: %d %s", code, e)
	}
	for _, w := range []string{"web", "api"} {
		if code, _, e := runCmd("cert", "issue", "--ca", pki, "--id", "spiffe://example.org/ns/prod/sa/"+w, "--out", filepath.Join(pki, w)); code != 0 {
			t.Fatalf("cert issue: %s", e)
		}
	}
	return dir
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const cliConfig = `
node_name = "n1"
data_dir  = "state"
trust {
  trust_domain = "example.org"
  bundle       = "pki/ca.crt"
  crls         = ["pki/ca.crl"]
}
tunnel {
  listen    = "127.0.0.1:15008"
  advertise = "127.0.0.1:15008"
}
policy { file = "policy.hcl" }
workload "web" {
  id   = "spiffe://example.org/ns/prod/sa/web"
  cert = "pki/web.crt"
  key  = "pki/web.key"
  upstream "api" {
    listen = "127.0.0.1:9001"
    target = "spiffe://example.org/ns/prod/sa/apl"
    port   = 8443
  }
}
`

func TestCertAndValidate(t *testing.T) {
	dir := pkiDir(t)
	pki := filepath.Join(dir, "pki")

	code, out, _ := runCmd("cert", "inspect", filepath.Join(pki, "web.crt"))
	if code != 0 || !strings.Contains(out, "spiffe://example.org/ns/prod/sa/web") || !strings.Contains(out, "sha256/") {
		t.Fatalf("inspect: %d\n%s", code, out)
	}
	fi, err := os.Stat(filepath.Join(pki, "web.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", fi.Mode(), err)
	}

	writeTestFile(t, filepath.Join(dir, "policy.hcl"), `default = "deny"`)
	cfg := filepath.Join(dir, "agent.hcl")
	writeTestFile(t, cfg, cliConfig)
	code, out, errOut := runCmd("validate", "--config", cfg, "--print")
	if code != 0 {
		t.Fatalf("validate: %d\n%s", code, errOut)
	}
	// The upstream's target is a typo no rule allows: a warning, not an error.
	if !strings.Contains(errOut, `warning: upstream "api" of workload "web": the policy denies`) {
		t.Errorf("no unreachable-upstream warning:\n%s", errOut)
	}
	for _, want := range []string{filepath.Join(pki, "ca.crt"), `handshake_timeout`, `node_name`} {
		if !strings.Contains(out, want) {
			t.Errorf("--print lacks %q:\n%s", want, out)
		}
	}

	// Every mistake, each with file:line:col.
	writeTestFile(t, cfg, strings.Replace(strings.Replace(cliConfig, `listen    = "127.0.0.1:15008"`, `listen = "127.0.0.1:99999"`, 1),
		`node_name = "n1"`, `node_name = "n1"
colour = "blue"`, 1))
	code, _, errOut = runCmd("validate", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, cfg+":3:") || !strings.Contains(errOut, cfg+":11:12:") {
		t.Fatalf("want errors at lines 3 and 11, exit 1; got %d:\n%s", code, errOut)
	}

	// A key that does not match its certificate is named.
	writeTestFile(t, cfg, cliConfig)
	b, _ := os.ReadFile(filepath.Join(pki, "api.key"))
	writeTestFile(t, filepath.Join(pki, "web.key"), string(b))
	code, _, errOut = runCmd("validate", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "web.key") {
		t.Fatalf("key mismatch: %d\n%s", code, errOut)
	}

	// Revocation updates the CRL.
	before, _ := os.ReadFile(filepath.Join(pki, "ca.crl"))
	if code, _, e := runCmd("cert", "revoke", "--ca", pki, "--cert", filepath.Join(pki, "api.crt")); code != 0 {
		t.Fatalf("revoke: %s", e)
	}
	after, _ := os.ReadFile(filepath.Join(pki, "ca.crl"))
	if bytes.Equal(before, after) {
		t.Fatal("ca.crl unchanged by revoke")
	}
}

func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.hcl")
	writeTestFile(t, pol, `
default = "deny"
rule "web-to-api" {
  action = "allow"
  from = ["spiffe://example.org/ns/prod/sa/web"]
  to   = ["spiffe://example.org/ns/prod/sa/api"]
}
test "web reaches api" {
  from = "spiffe://example.org/ns/prod/sa/web"
  to = "spiffe://example.org/ns/prod/sa/api"
  port = 1
  expect = "allow"
}
`)
	code, out, _ := runCmd("policy", "check", "--policy", pol, "--from", "spiffe://example.org/ns/prod/sa/web", "--to", "spiffe://example.org/ns/prod/sa/api", "--port", "443")
	if code != 0 || !strings.Contains(out, "web-to-api") {
		t.Fatalf("allow: %d %s", code, out)
	}
	code, out, _ = runCmd("policy", "check", "--policy", pol, "--from", "spiffe://example.org/ns/prod/sa/api", "--to", "spiffe://example.org/ns/prod/sa/web")
	if code != 1 || !strings.Contains(out, "default") {
		t.Fatalf("deny: %d %s", code, out)
	}
	if code, out, _ = runCmd("policy", "test", pol); code != 0 || !strings.Contains(out, "PASS") {
		t.Fatalf("policy test: %d %s", code, out)
	}
	writeTestFile(t, pol, `default = "sometimes"`)
	if code, _, errOut := runCmd("policy", "check", "--policy", pol, "--from", "spiffe://a.org/x", "--to", "spiffe://a.org/y"); code != 2 || !strings.Contains(errOut, pol+":1:") {
		t.Fatalf("broken policy: %d %s", code, errOut)
	}
}

// TestAgentListenInUse: a taken port fails the start with exit 1 and one
// sentence naming the config key, where it is set, and the address.
func TestAgentListenInUse(t *testing.T) {
	for _, key := range []string{"tunnel.listen", "workload.web.upstream.api.listen", "admin.listen", "gossip.listen"} {
		t.Run(key, func(t *testing.T) {
			dir := pkiDir(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			taken := ln.Addr().String()
			addr := map[string]string{"tunnel.listen": "127.0.0.1:0", "workload.web.upstream.api.listen": "127.0.0.1:0", "admin.listen": "127.0.0.1:0", "gossip.listen": "127.0.0.1:0"}
			addr[key] = taken
			writeTestFile(t, filepath.Join(dir, "policy.hcl"), `default = "deny"`)
			cfg := filepath.Join(dir, "agent.hcl")
			text := strings.NewReplacer(
				`listen    = "127.0.0.1:15008"`, `listen = "`+addr["tunnel.listen"]+`"`,
				`listen = "127.0.0.1:9001"`, `listen = "`+addr["workload.web.upstream.api.listen"]+`"`,
			).Replace(cliConfig) + "\nadmin {\n  listen = \"" + addr["admin.listen"] + "\"\n}\n" +
				"gossip {\n  listen = \"" + addr["gossip.listen"] + "\"\n  advertise = \"127.0.0.1:7946\"\n  key_file = \"gossip.key\"\n}\n"
			if err := os.WriteFile(filepath.Join(dir, "gossip.key"), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, cfg, text)
			// Where the taken address stands in the file: line and column
			// of its opening quote.
			line, col := 0, 0
			for i, l := range strings.Split(text, "\n") {
				if c := strings.Index(l, `"`+taken+`"`); c >= 0 {
					line, col = i+1, c+1
				}
			}
			code, _, errOut := runCmd("agent", "--config", cfg)
			want := fmt.Sprintf("%s:%d:%d: %s: %s is already in use by another program", cfg, line, col, key, taken)
			if code != 1 || !strings.Contains(errOut, want) {
				t.Fatalf("exit %d, want 1 and %q in\n%s", code, want, errOut)
			}
		})
	}
}
