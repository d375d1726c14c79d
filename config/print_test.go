package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestPrintGolden prints each testdata/*.hcl config and compares it with
// its .golden file (go test -update rewrites them), then checks that the
// printed config parses back to an equal Config.
func TestPrintGolden(t *testing.T) {
	for _, name := range []string{"full", "minimal"} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", name+".hcl")
			c := mustParseFile(t, in)
			var out bytes.Buffer
			if err := Print(&out, c); err != nil {
				t.Fatalf("Print: %v", err)
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run go test -update): %v", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("Print output differs from %s:\n%s", golden, out.Bytes())
			}
			assertRoundTrip(t, c)
		})
	}
}

func mustParseFile(t testing.TB, path string) *Config {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(path, src)
	if err != nil {
		t.Fatalf("Parse(%s):\n%v", path, err)
	}
	return c
}

// assertRoundTrip checks that Print(c) parses back to c (File and Warnings
// aside: they describe where and how the config was read).
func assertRoundTrip(t testing.TB, c *Config) {
	t.Helper()
	var out bytes.Buffer
	if err := Print(&out, c); err != nil {
		t.Fatalf("Print: %v", err)
	}
	back, err := Parse(filepath.Join(t.TempDir(), "printed.hcl"), out.Bytes())
	if err != nil {
		t.Fatalf("printed config does not parse:\n%v\n%s", err, out.Bytes())
	}
	want := *c
	want.File, want.Warnings, want.positions = "", nil, nil
	back.File, back.Warnings, back.positions = "", nil, nil
	if !reflect.DeepEqual(back, &want) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", back, &want)
	}
}

// TestDesignExample keeps the example of DESIGN §5 (the contract) valid.
func TestDesignExample(t *testing.T) {
	c := mustParseFile(t, filepath.Join("testdata", "design.hcl"))
	if len(c.Workloads) != 3 || len(c.Peers) != 1 || c.Gossip == nil || c.Workloads[2].Enroll == nil {
		t.Errorf("design example parsed to %+v", c)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", c.Warnings)
	}
	assertRoundTrip(t, c)
}
