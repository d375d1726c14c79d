package discovery

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateKey()
	k, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(k) != 32 {
		t.Fatalf("key %q: %d bytes, %v", a, len(k), err)
	}
	if a == b {
		t.Error("two keys are equal")
	}
}

func TestLoadKeyFile(t *testing.T) {
	k16 := base64.StdEncoding.EncodeToString(testKey(1)[:16])
	k32 := base64.StdEncoding.EncodeToString(testKey(2))
	k24 := base64.StdEncoding.EncodeToString(testKey(3)[:24])
	tests := []struct {
		name     string
		content  string
		wantKeys int
		wantErr  string // with PATH for the file's path
		wantIs   error
	}{
		{name: "one key", content: k32 + "\n", wantKeys: 1},
		{name: "comments blanks and spaces", content: "# primary\n\n  " + k32 + "  \n#old\n" + k16 + "\n" + k24, wantKeys: 3},
		{name: "crlf", content: k32 + "\r\n" + k16 + "\r\n", wantKeys: 2},
		{name: "empty", content: "", wantErr: "discovery: key file PATH: no key in file", wantIs: ErrNoKeys},
		{name: "only comments", content: "# nothing\n\n", wantErr: "discovery: key file PATH: no key in file", wantIs: ErrNoKeys},
		{name: "not base64", content: k32 + "\n\nnot-base64!\n", wantErr: "discovery: key file PATH:3: not valid base64", wantIs: ErrInvalidKey},
		{name: "wrong size", content: base64.StdEncoding.EncodeToString([]byte("short")), wantErr: "discovery: key file PATH:1: key is 5 bytes, want 16, 24 or 32", wantIs: ErrInvalidKey},
		{name: "duplicate", content: k32 + "\n" + k32, wantErr: "discovery: key file PATH:2: duplicate key", wantIs: ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gossip.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := LoadKeyFile(path)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "PATH", path)
				if err == nil || err.Error() != want || !errors.Is(err, tt.wantIs) {
					t.Fatalf("err = %v, want %q (is %v)", err, want, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != tt.wantKeys {
				t.Errorf("got %d keys, want %d", len(keys), tt.wantKeys)
			}
		})
	}
	if _, err := LoadKeyFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
