package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// sysusersLine is the one line of examples/systemd/ztunnel.sysusers that
// matters: the static user the unit's User= names.
const sysusersLine = `u ztunnel - "ztunnel agent" /var/lib/ztunnel`

// makeInstall runs `make install` with the test binary and returns its output.
func makeInstall(tb testing.TB, args ...string) string {
	tb.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		tb.Skip("make is not installed")
	}
	cmd := exec.Command("make", append([]string{"-C", "..", "install", "BIN=" + ztunnelBin}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("make install %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestMakeInstall installs into a DESTDIR and checks what lands where.
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	out := makeInstall(t, "DESTDIR="+dest, "PREFIX=/usr/local")
	for path, mode := range map[string]os.FileMode{
		"usr/local/bin/ztunnel":              0o755,
		"lib/systemd/system/ztunnel.service": 0o644,
		"usr/lib/sysusers.d/ztunnel.conf":    0o644,
		"etc/ztunnel":                        os.ModeDir | 0o750,
		"etc/ztunnel/pki":                    os.ModeDir | 0o750,
		"etc/ztunnel/ztunnel.hcl":            0o640,
		"etc/ztunnel/policy.hcl":             0o640,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("%s not installed: %v", path, err)
			continue
		}
		if fi.Mode()&(os.ModeDir|os.ModePerm) != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
		}
		// A DESTDIR install chowns nothing: the ztunnel user may not
		// exist where the package is built.
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid() {
			t.Errorf("%s is owned by %d:%d, want the installing user %d:%d", path, st.Uid, st.Gid, os.Getuid(), os.Getgid())
		}
	}
	if !strings.Contains(out, "DESTDIR install: the ztunnel user is not created and nothing is chowned") {
		t.Errorf("make install with DESTDIR does not say it skipped the user and the chown:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "usr/lib/sysusers.d/ztunnel.conf")); !hasLine(string(b), sysusersLine) {
		t.Errorf("installed sysusers.d/ztunnel.conf lacks %q:\n%s", sysusersLine, b)
	}
	// The installed policy skeleton passes its own check.
	if out, err := exec.Command(ztunnelBin, "policy", "test", filepath.Join(dest, "etc/ztunnel/policy.hcl")).CombinedOutput(); err != nil {
		t.Errorf("installed policy.hcl: %v\n%s", err, out)
	}
	// A second install keeps an operator's edited config.
	cfg := filepath.Join(dest, "etc/ztunnel/ztunnel.hcl")
	if err := os.WriteFile(cfg, []byte("# edited\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	makeInstall(t, "DESTDIR="+dest, "PREFIX=/usr/local")
	if b, _ := os.ReadFile(cfg); string(b) != "# edited\n" {
		t.Fatalf("make install overwrote the operator's config")
	}
}

// TestMakeInstallPrefix checks that the installed unit runs the binary
// where PREFIX put it.
func TestMakeInstallPrefix(t *testing.T) {
	for _, prefix := range []string{"/usr", "/usr/local", "/opt/ztunnel"} {
		t.Run(prefix, func(t *testing.T) {
			dest := t.TempDir()
			makeInstall(t, "DESTDIR="+dest, "PREFIX="+prefix)
			if _, err := os.Stat(filepath.Join(dest, prefix, "bin/ztunnel")); err != nil {
				t.Fatalf("binary not at PREFIX/bin: %v", err)
			}
			unit, err := os.ReadFile(filepath.Join(dest, "lib/systemd/system/ztunnel.service"))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"ExecStartPre=": prefix + "/bin/ztunnel validate --config /etc/ztunnel/ztunnel.hcl",
				"ExecStart=":    prefix + "/bin/ztunnel agent --config /etc/ztunnel/ztunnel.hcl",
			}
			for key, value := range want {
				if !hasLine(string(unit), key+value) {
					t.Errorf("installed unit lacks %q:\n%s", key+value, unit)
				}
			}
			if prefix != "/usr/local" && strings.Contains(string(unit), "/usr/local/bin/ztunnel") {
				t.Errorf("installed unit still names /usr/local/bin/ztunnel:\n%s", unit)
			}
		})
	}
}

// TestMakeInstallChownsOnlyRealInstalls checks, without running anything
// (make -n), that the user is created and /etc/ztunnel given group ztunnel
// only when DESTDIR is empty: a real install cannot be run by a test.
func TestMakeInstallChownsOnlyRealInstalls(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dryRun := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("make", append([]string{"-n", "-C", "..", "install", "BIN=" + ztunnelBin}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n install %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	chown := "chown root:ztunnel /etc/ztunnel /etc/ztunnel/pki /etc/ztunnel/ztunnel.hcl /etc/ztunnel/policy.hcl"
	real := dryRun("DESTDIR=")
	for _, want := range []string{"systemd-sysusers /usr/lib/sysusers.d/ztunnel.conf", chown} {
		if !strings.Contains(real, want) {
			t.Errorf("a real install does not run %q:\n%s", want, real)
		}
	}
	staged := dryRun("DESTDIR=" + t.TempDir())
	for _, never := range []string{"systemd-sysusers /usr/lib/sysusers.d/ztunnel.conf", chown} {
		if strings.Contains(staged, never) {
			t.Errorf("a DESTDIR install would run %q:\n%s", never, staged)
		}
	}
}

// TestSysusersCreatesUser applies the sysusers.d file to an empty root and
// checks the user the unit runs as.
func TestSysusersCreatesUser(t *testing.T) {
	if _, err := exec.LookPath("systemd-sysusers"); err != nil {
		t.Skip("systemd-sysusers is not installed")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf, err := filepath.Abs("../examples/systemd/ztunnel.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-sysusers", "--root="+root, conf).CombinedOutput()
	if err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("systemd-sysusers --root needs root here: %v\n%s", err, out)
		}
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	group, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	var user []string
	for _, l := range strings.Split(string(passwd), "\n") {
		if f := strings.Split(l, ":"); f[0] == "ztunnel" && len(f) == 7 {
			user = f
		}
	}
	if user == nil || user[5] != "/var/lib/ztunnel" || user[4] != "ztunnel agent" || !strings.HasPrefix(string(group), "ztunnel:") {
		t.Fatalf("no ztunnel user with home /var/lib/ztunnel and group ztunnel:\n%s\n%s", passwd, group)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the example unit
// and checks that it runs as the static user the sysusers.d file creates.
func TestSystemdUnitVerifies(t *testing.T) {
	unit, err := os.ReadFile("../examples/systemd/ztunnel.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"User=ztunnel", "Group=ztunnel", "StateDirectory=ztunnel", "ConfigurationDirectoryMode=0750"} {
		if !hasLine(string(unit), line) {
			t.Errorf("unit lacks %q", line)
		}
	}
	// DynamicUser= would run as a user no file in /etc/ztunnel can name.
	if strings.Contains(string(unit), "\nDynamicUser=") {
		t.Errorf("unit uses DynamicUser=: it cannot read root:ztunnel configs or ztunnel-owned keys")
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ztunnel.service")
	// Point the unit at the test binary, as make install does with PREFIX:
	// verify checks that it exists.
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/ztunnel", ztunnelBin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// hasLine reports whether text has line as one whole line.
func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
