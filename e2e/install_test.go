package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall installs into a DESTDIR and checks what lands where.
func TestMakeInstall(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr/local", "BIN="+ztunnelBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/ztunnel":              0o755,
		"lib/systemd/system/ztunnel.service": 0o644,
		"etc/ztunnel/ztunnel.hcl":            0o640,
		"etc/ztunnel/policy.hcl":             0o640,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("%s not installed: %v", path, err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
	// The installed policy skeleton passes its own check.
	out, err := exec.Command(ztunnelBin, "policy", "test", filepath.Join(dest, "etc/ztunnel/policy.hcl")).CombinedOutput()
	if err != nil {
		t.Errorf("installed policy.hcl: %v\n%s", err, out)
	}
	// A second install keeps an operator's edited config.
	cfg := filepath.Join(dest, "etc/ztunnel/ztunnel.hcl")
	if err := os.WriteFile(cfg, []byte("# edited\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr/local", "BIN="+ztunnelBin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second make install: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(cfg); string(b) != "# edited\n" {
		t.Fatalf("make install overwrote the operator's config")
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the example unit.
func TestSystemdUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	unit, err := os.ReadFile("../examples/systemd/ztunnel.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ztunnel.service")
	// Point the unit at the test binary: verify checks that it exists.
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/ztunnel", ztunnelBin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
