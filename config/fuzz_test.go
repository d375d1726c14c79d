package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that a failure is always a
// *LoadError with at least one problem, and that every config it accepts
// survives Print and Parse unchanged.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.hcl"))
	for _, s := range seeds {
		src, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(base + wlOK + "  upstream \"u\" {\n    listen = \"127.0.0.1:0\"\n    target = \"spiffe://example.org/x\"\n  }\n}\n"))
	f.Add([]byte(base + "peer \"b\" {\n  address = \"[::1]:1\"\n  workloads = [\"spiffe://example.org/a\"]\n}\n"))
	f.Add([]byte("trust {\n}\nworkload {\n}\nx = var.y\n"))
	f.Add([]byte("tunnel { max_handshakes = 1e99 }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("/etc/ztunnel/fuzz.hcl", src)
		if err != nil {
			le, ok := err.(*LoadError)
			if !ok || len(le.Problems) == 0 {
				t.Fatalf("error %T %v is not a *LoadError with problems", err, err)
			}
			return
		}
		assertRoundTrip(t, c)
	})
}
