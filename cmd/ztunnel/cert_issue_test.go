package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	idWeb = "spiffe://example.org/ns/prod/sa/web"
	idAPI = "spiffe://example.org/ns/prod/sa/api"
)

// TestCertIssueRefusals checks the exact sentence and exit code of each
// refusal, and that a refused issue leaves the existing files alone.
func TestCertIssueRefusals(t *testing.T) {
	pki := filepath.Join(pkiDir(t), "pki") // holds web.crt and web.key for idWeb
	prefix := filepath.Join(pki, "web")
	tests := []struct {
		name string
		args []string
		code int
		want string // the whole of stderr
	}{
		{name: "existing files, other ID", args: []string{"--id", idAPI, "--out", prefix}, code: 1,
			want: `error: "` + prefix + `.crt" already exists; give --force to replace it`},
		{name: "existing files, same ID", args: []string{"--id", idWeb, "--out", prefix}, code: 1,
			want: `error: "` + prefix + `.crt" already exists; give --force to replace it`},
		{name: "zero ttl", args: []string{"--id", idAPI, "--out", filepath.Join(pki, "new"), "--ttl", "0s"}, code: 2,
			want: `ztunnel cert issue: --ttl must be a positive duration such as 24h, not 0s`},
		{name: "negative ttl", args: []string{"--id", idAPI, "--out", filepath.Join(pki, "new"), "--ttl", "-1h"}, code: 2,
			want: `ztunnel cert issue: --ttl must be a positive duration such as 24h, not -1h0m0s`},
		{name: "zero ttl with force", args: []string{"--id", idWeb, "--out", prefix, "--ttl", "0", "--force"}, code: 2,
			want: `ztunnel cert issue: --ttl must be a positive duration such as 24h, not 0s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt, key := readFile(t, prefix+".crt"), readFile(t, prefix+".key")
			code, out, errOut := runCmd(append([]string{"cert", "issue", "--ca", pki}, tt.args...)...)
			if code != tt.code || strings.TrimSpace(errOut) != tt.want || out != "" {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant:   %s", code, tt.code, out, errOut, tt.want)
			}
			if readFile(t, prefix+".crt") != crt || readFile(t, prefix+".key") != key {
				t.Fatal("a refused cert issue changed web.crt or web.key")
			}
			if _, err := os.Stat(filepath.Join(pki, "new.crt")); err == nil {
				t.Fatal("a refused cert issue wrote new.crt")
			}
		})
	}
}

// TestCertIssueForce checks that --force replaces both files, here with a
// certificate for another ID and the lifetime asked for.
func TestCertIssueForce(t *testing.T) {
	pki := filepath.Join(pkiDir(t), "pki")
	prefix := filepath.Join(pki, "web")
	oldKey := readFile(t, prefix+".key")
	code, out, errOut := runCmd("cert", "issue", "--ca", pki, "--id", idAPI, "--out", prefix, "--ttl", "2h", "--force")
	if code != 0 || errOut != "" {
		t.Fatalf("cert issue --force: exit %d\n%s", code, errOut)
	}
	if want := "issued " + idAPI + ": " + prefix + ".crt, " + prefix + ".key\n"; out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
	if readFile(t, prefix+".key") == oldKey {
		t.Fatal("--force kept the old key")
	}
	fi, err := os.Stat(prefix + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key after --force: %v, %v", fi, err)
	}
	pair, err := tls.LoadX509KeyPair(prefix+".crt", prefix+".key")
	if err != nil {
		t.Fatalf("the replaced pair does not load: %v", err)
	}
	leaf := pair.Leaf
	if got := leaf.URIs[0].String(); got != idAPI {
		t.Fatalf("replaced certificate is for %s, want %s", got, idAPI)
	}
	if life := time.Until(leaf.NotAfter); life > 2*time.Hour || life < 2*time.Hour-time.Minute {
		t.Fatalf("replaced certificate expires in %s, want about 2h", life)
	}
}

func readFile(tb testing.TB, p string) string {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
