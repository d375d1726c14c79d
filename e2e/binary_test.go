package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ztunnelBin is the binary built once for the tests that run it.
var ztunnelBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ztunnel-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ztunnelBin = filepath.Join(dir, "ztunnel")
	out, err := exec.Command("go", "build", "-o", ztunnelBin, "../cmd/ztunnel").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ztunnel: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address that was free a moment ago.
func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running `ztunnel agent`.
type proc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

func startBinary(tb testing.TB, cfgFile, admin string) *proc {
	tb.Helper()
	p := &proc{cmd: exec.Command(ztunnelBin, "agent", "--config", cfgFile), log: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	tb.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if tb.Failed() {
			tb.Logf("log of %s:\n%s", cfgFile, p.log.String())
		}
	})
	eventually(tb, 10*time.Second, "agent ready", func() bool {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

// wait returns the exit code, failing the test after d.
func (p *proc) wait(tb testing.TB, d time.Duration) int {
	tb.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		tb.Fatalf("agent did not exit within %v", d)
		return -1
	}
}

// binPair is two agent processes: b exposes payments (backend), a has the
// frontend upstream at up.
type binPair struct {
	a, b       *proc
	up         string
	policyFile string
	cfgA       string // agent a's config file
}

// startBinaryPair writes configs on disk and starts both agents. formatA is
// agent a's log_format.
func startBinaryPair(t *testing.T, backend, formatA string) *binPair {
	t.Helper()
	p := newPKI(t)
	dir := t.TempDir()
	pc, pk := p.issue(t, "payments", idPayments)
	fc, fk := p.issue(t, "frontend", idFrontend)
	tunB, admA, admB, up := freePort(t), freePort(t), freePort(t), freePort(t)
	bp := &binPair{up: up, policyFile: filepath.Join(dir, "policy.hcl")}
	writeFile(t, bp.policyFile, allowFrontendPolicy)

	common := "shutdown_timeout = \"30s\"\n"
	cfgB := filepath.Join(dir, "b.hcl")
	writeFile(t, cfgB, agentConfig{
		Name: "b", DataDir: ".", Trust: trustBlock(p), Listen: tunB, Advertise: tunB, Admin: admB,
		Policy: "policy.hcl", Extra: common,
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, Cert: pc, Key: pk,
			Exposes: []exposeConfig{{Port: 8443, Backend: backend}}}},
	}.String())
	cfgA := filepath.Join(dir, "a.hcl")
	bp.cfgA = cfgA
	writeFile(t, cfgA, agentConfig{
		Name: "a", DataDir: ".", Trust: trustBlock(p), Admin: admA,
		Policy: "policy.hcl", Extra: common + fmt.Sprintf("log_format = %q\n", formatA),
		Workloads: []workloadConfig{{Name: "frontend", ID: idFrontend, Cert: fc, Key: fk,
			Upstreams: []upstreamConfig{{Name: "payments", Listen: up, Target: idPayments, Port: 8443}}}},
		Peers: []peerConfig{{Name: "b", Address: tunB, Workloads: []string{idPayments}}},
	}.String())

	out, err := exec.Command(ztunnelBin, "validate", "--config", cfgA).CombinedOutput()
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	bp.b = startBinary(t, cfgB, admB)
	bp.a = startBinary(t, cfgA, admA)
	return bp
}

// TestBinarySignals runs two agents from configs on disk: an allowed and a
// denied connection, SIGHUP applying a new policy, a SIGHUP with a broken
// policy keeping the old one, and SIGTERM stopping with exit code 0.
func TestBinarySignals(t *testing.T) {
	bp := startBinaryPair(t, echoBackend(t), "text")
	a, b, up, policyFile := bp.a, bp.b, bp.up, bp.policyFile

	if reply, err := roundTrip(up, "hello"); err != nil || reply != "hello" {
		t.Fatalf("allowed: %q %v", reply, err)
	}
	// max_procs is unset: half the CPUs Go would use, at least one.
	if os.Getenv("GOMAXPROCS") == "" {
		want := fmt.Sprintf("CPUs running Go code: procs=%d set_by=", max(1, runtime.GOMAXPROCS(0)/2))
		if !strings.Contains(a.log.String(), want) {
			t.Errorf("agent log lacks %q:\n%s", want, a.log.String())
		}
	}

	// A broken policy on SIGHUP: refused, old one stays, traffic flows.
	writeFile(t, policyFile, `default = "maybe"`)
	_ = b.cmd.Process.Signal(syscall.SIGHUP)
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "reload failure logged", func() bool {
		return strings.Contains(b.log.String(), "reload failed")
	})
	if reply, err := roundTrip(up, "still"); err != nil || reply != "still" {
		t.Fatalf("after broken reload: %q %v", reply, err)
	}

	// A deny-all policy on SIGHUP: new connections refused.
	writeFile(t, policyFile, denyAllPolicy)
	_ = b.cmd.Process.Signal(syscall.SIGHUP)
	_ = a.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "deny after SIGHUP", func() bool {
		_, err := roundTrip(up, "x")
		return err != nil
	})
	reply, err := roundTrip(up, "denied")
	wantReset(t, reply, err)

	for _, pr := range []*proc{a, b} {
		_ = pr.cmd.Process.Signal(syscall.SIGTERM)
		if code := pr.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("exit code after SIGTERM = %d, want 0", code)
		}
	}
}

// TestBinaryStartupErrors: bad configs exit 1 with the problem named.
func TestBinaryStartupErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	writeFile(t, bad, "tunnel {\n  listen = \"nope\"\n  bogus = 1\n}\n")
	cmd := exec.Command(ztunnelBin, "agent", "--config", bad)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %d (%v), want 1; output:\n%s", cmd.ProcessState.ExitCode(), err, out)
	}
	for _, want := range []string{bad + ":2:", bad + ":3:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	cmd = exec.Command(ztunnelBin, "agent")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--config is required") {
		t.Fatalf("missing flag: exit %d, %s", cmd.ProcessState.ExitCode(), out)
	}
}

// TestBinaryReloadedShutdownTimeout: SIGTERM drains with the shutdown_timeout
// of the config in force, not the one read at start: after a reload to 1s
// a stream left open is cut after about a second (exit 1), not 30.
func TestBinaryReloadedShutdownTimeout(t *testing.T) {
	bp := startBinaryPair(t, echoBackend(t), "text")
	c, err := net.DialTimeout("tcp", bp.up, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("open stream: %v", err)
	}

	old, err := os.ReadFile(bp.cfgA)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, bp.cfgA, strings.Replace(string(old), `shutdown_timeout = "30s"`, `shutdown_timeout = "1s"`, 1))
	_ = bp.a.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "reload logged", func() bool {
		return strings.Contains(bp.a.log.String(), "reloaded: source=")
	})

	start := time.Now()
	_ = bp.a.cmd.Process.Signal(syscall.SIGTERM)
	if code := bp.a.wait(t, 15*time.Second); code != 1 {
		t.Fatalf("exit code %d after the drain timeout cut a stream, want 1", code)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("drain took %v with shutdown_timeout 1s", d)
	}
	for _, want := range []string{"signal received, draining: signal=terminated timeout=1s", "drain timeout: streams cut"} {
		if !strings.Contains(bp.a.log.String(), want) {
			t.Errorf("agent log lacks %q", want)
		}
	}
}
