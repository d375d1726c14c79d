package ca

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIssueRefusesExisting checks that Issue keeps an existing
// certificate or key (even a lone one, even a dangling symlink) and signs
// nothing then, and that Overwrite replaces both.
func TestIssueRefusesExisting(t *testing.T) {
	tests := []struct {
		name   string
		create func(t *testing.T, prefix string) // puts something in the way
		refuse string                            // the file named in the error
	}{
		{name: "both", create: func(t *testing.T, prefix string) {
			if _, _, err := Issue(filepath.Join(filepath.Dir(prefix), "ca"), idPay, prefix, 0); err != nil {
				t.Fatal(err)
			}
		}, refuse: ".crt"},
		{name: "key only", create: func(t *testing.T, prefix string) {
			if err := os.WriteFile(prefix+".key", []byte("old key"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, refuse: ".key"},
		{name: "dangling symlink", create: func(t *testing.T, prefix string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(prefix), "nowhere"), prefix+".crt"); err != nil {
				t.Fatal(err)
			}
		}, refuse: ".crt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initCA(t)
			prefix := filepath.Join(filepath.Dir(dir), "w")
			tt.create(t, prefix)
			before := snapshot(t, prefix, dir)

			_, _, err := Issue(dir, idFront, prefix, 0)
			want := `ca: "` + prefix + tt.refuse + `" already exists; refusing to overwrite it`
			if errString(err) != want {
				t.Fatalf("error %q, want %q", errString(err), want)
			}
			var oe *OutputExistsError
			if !errors.Is(err, ErrOutputExists) || !errors.As(err, &oe) || oe.Path != prefix+tt.refuse {
				t.Fatalf("error %#v does not match ErrOutputExists with the path", err)
			}
			if after := snapshot(t, prefix, dir); after != before {
				t.Fatalf("a refused Issue changed files:\nbefore %s\nafter  %s", before, after)
			}

			crt, key, err := Issue(dir, idFront, prefix, 0, Overwrite())
			if err != nil {
				t.Fatalf("Issue with Overwrite: %v", err)
			}
			if got := readLeaf(t, crt).URIs[0].String(); got != idFront {
				t.Fatalf("overwritten certificate is for %s, want %s", got, idFront)
			}
			if fi, err := os.Lstat(key); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("overwritten key: %v, %v", fi, err)
			}
		})
	}
}

// snapshot is the content of PREFIX.crt, PREFIX.key and the CA's
// issued.log, to tell whether anything was written.
func snapshot(tb testing.TB, prefix, caDir string) string {
	tb.Helper()
	var b bytes.Buffer
	for _, p := range []string{prefix + ".crt", prefix + ".key", filepath.Join(caDir, IssuedFile)} {
		data, err := os.ReadFile(p)
		b.WriteString(p + "=" + strings.TrimSpace(string(data)) + errString(err) + ";")
	}
	return b.String()
}
