package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

// caServer runs `ca serve` in-process on a loopback port with the given
// certificate lifetime and returns its CA folder and address.
func caServer(t *testing.T, svidTTL time.Duration) (dir, addr string, stop func()) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ca")
	if err := ca.Init(dir, td, 0); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ca.DefaultServeConfig()
	cfg.Dir, cfg.SVIDTTL = dir, svidTTL
	cfg.Logger = hclog.NewNullLogger()
	srv, err := ca.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, ln); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return dir, ln.Addr().String(), stop
}

func tokenFile(t *testing.T, caDir, dir, name, id string) string {
	t.Helper()
	tok, err := ca.NewToken(caDir, id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".token")
	writeFile(t, path, tok+"\n")
	return path
}

// enrolledPair is TestAllowedAndDenied's topology with every certificate
// obtained from the CA server instead of files.
func enrolledPair(t *testing.T, caDir, caAddr string) (a, b *node, up string) {
	t.Helper()
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.hcl")
	writeFile(t, policyFile, allowFrontendPolicy)
	trust := fmt.Sprintf("trust {\n  trust_domain = %q\n  bundle = %q\n  crls = [%q]\n}\n",
		td, filepath.Join(caDir, "ca.crt"), filepath.Join(caDir, "ca.crl"))
	b = startAgent(t, dir, "b", agentConfig{
		Name: "b", DataDir: filepath.Join(dir, "state-b"), Trust: trust, Policy: policyFile,
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, EnrollServer: caAddr,
			EnrollToken: tokenFile(t, caDir, dir, "payments", idPayments),
			Exposes:     []exposeConfig{{Port: 8443, Backend: echoBackend(t)}}}},
	}.String())
	a = startAgent(t, dir, "a", agentConfig{
		Name: "a", DataDir: filepath.Join(dir, "state-a"), Trust: trust, Policy: policyFile,
		Workloads: []workloadConfig{{Name: "frontend", ID: idFrontend, EnrollServer: caAddr,
			EnrollToken: tokenFile(t, caDir, dir, "frontend", idFrontend),
			Upstreams:   []upstreamConfig{{Name: "payments", Target: idPayments, Port: 8443}}}},
		Peers: []peerConfig{{Name: "b", Address: b.a.TunnelAddr().String(), Workloads: []string{idPayments}}},
	}.String())
	return a, b, a.a.UpstreamAddr(idFrontend, "payments").String()
}

// TestEnrollAndRenewUnderLoad: agents enroll with one-time tokens, then
// renew 4-second certificates several times while clients connect
// continuously: no connection fails and a stream opened at the start
// survives every renewal.
func TestEnrollAndRenewUnderLoad(t *testing.T) {
	caDir, caAddr, _ := caServer(t, 4*time.Second)
	a, b, up := enrolledPair(t, caDir, caAddr)
	key := filepath.Join(filepath.Dir(a.file), "state-a", "frontend.key")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored key: %v %v", fi, err)
	}
	live := openLive(t, up)
	l := startLoad(t, up, 3)

	first := serial(t, a, idFrontend)
	serials := map[string]bool{first: true}
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		serials[serial(t, a, idFrontend)] = true
		live.ping(t)
		time.Sleep(200 * time.Millisecond)
	}
	l.check(t, "renewals")
	if len(serials) < 3 {
		t.Fatalf("only %d certificates seen in 12s with a 4s lifetime", len(serials))
	}
	t.Logf("frontend certificates seen: %d; payments serial now %s", len(serials), serial(t, b, idPayments))
	live.ping(t)
}

// TestEnrollRefusals: a used token, an expired token, and a token for
// another ID all fail the agent's start with a sentence that says why.
func TestEnrollRefusals(t *testing.T) {
	caDir, caAddr, _ := caServer(t, time.Hour)
	dir := t.TempDir()
	tok := tokenFile(t, caDir, dir, "once", idFrontend)

	cfg := func(name, tokenPath string) string {
		file := filepath.Join(dir, name+".hcl")
		writeFile(t, file, agentConfig{
			Name: name, DataDir: filepath.Join(dir, "state-"+name),
			Trust:     fmt.Sprintf("trust {\n  trust_domain = %q\n  bundle = %q\n}\n", td, filepath.Join(caDir, "ca.crt")),
			Workloads: []workloadConfig{{Name: "frontend", ID: idFrontend, EnrollServer: caAddr, EnrollToken: tokenPath}},
		}.String())
		return file
	}
	run := func(file string) (int, string) {
		cmd := exec.Command(ztunnelBin, "agent", "--config", file)
		done := make(chan struct{})
		var out []byte
		go func() { out, _ = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}

	// First use enrolls (the agent starts: stop it right away).
	first := exec.Command(ztunnelBin, "agent", "--config", cfg("first", tok))
	var firstLog syncBuffer
	first.Stdout, first.Stderr = &firstLog, &firstLog
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "first enrollment", func() bool { return strings.Contains(firstLog.String(), "ready") })
	_ = first.Process.Kill()
	_ = first.Wait()

	code, out := run(cfg("again", tok))
	if code != 1 || !strings.Contains(out, "used") {
		t.Fatalf("used token: exit %d\n%s", code, out)
	}

	expired, err := ca.NewToken(caDir, idFrontend, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	expiredPath := filepath.Join(dir, "expired.token")
	writeFile(t, expiredPath, expired+"\n")
	code, out = run(cfg("expired", expiredPath))
	if code != 1 || !strings.Contains(out, "expired") {
		t.Fatalf("expired token: exit %d\n%s", code, out)
	}

	// A token for batch cannot give frontend a certificate.
	other := tokenFile(t, caDir, dir, "other", idBatch)
	code, out = run(cfg("other", other))
	if code != 1 {
		t.Fatalf("token of another ID: exit %d\n%s", code, out)
	}
	t.Logf("token for another ID refused with: %s", lastLine(out))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
