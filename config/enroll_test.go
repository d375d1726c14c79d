package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnrollTokenMayBeMissing: the token is needed only until the first
// certificate is stored; operators delete it afterwards, and the config
// must still load.
func TestEnrollTokenMayBeMissing(t *testing.T) {
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(bundle, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
trust {
  trust_domain = "example.org"
  bundle = "ca.crt"
}
tunnel {
  listen = "127.0.0.1:0"
  advertise = "127.0.0.1:15008"
}
workload "w" {
  id = "spiffe://example.org/w"
  enroll {
    server = "127.0.0.1:8200"
    token_file = "w.token"
  }
}
`
	file := filepath.Join(dir, "a.hcl")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err != nil {
		t.Fatalf("missing token file refused: %v", err)
	}
	// A token that exists but is a directory is still an error.
	if err := os.Mkdir(filepath.Join(dir, "w.token"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(file); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("want a directory error, got %v", err)
	}
}
