package agent

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/identity/enroll"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testTD = "agent.test"

// startTestAgent starts an agent with one workload that exposes a port; the
// certificate is valid for validFor.
func startTestAgent(tb testing.TB, validFor time.Duration) *Agent {
	tb.Helper()
	a, _ := startTestAgentLog(tb, validFor)
	return a
}

// lockedBuffer is a log sink safe for the agent's concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startTestAgentLog(tb testing.TB, validFor time.Duration) (*Agent, *lockedBuffer) {
	tb.Helper()
	logs := &lockedBuffer{}
	dir := tb.TempDir()
	ca := identitytest.NewCA(tb, testTD)
	bundle := ca.WriteBundle(tb, dir)
	id := "spiffe://" + testTD + "/web"
	now := time.Now()
	cert, key := ca.Issue(tb, id, identitytest.WithValidity(now.Add(-time.Minute), now.Add(validFor))).WriteFiles(tb, dir, "web")
	file := filepath.Join(dir, "agent.hcl")
	hcl := fmt.Sprintf(`
node_name = "t"
data_dir = %q
trust {
  trust_domain = %q
  bundle = %q
}
tunnel {
  listen = "127.0.0.1:0"
  advertise = "127.0.0.1:1"
}
admin { listen = "127.0.0.1:0" }
workload "web" {
  id = %q
  cert = %q
  key = %q
  expose {
    port = 80
    backend = "127.0.0.1:1"
  }
}
`, dir, testTD, bundle, id, cert, key)
	if err := os.WriteFile(file, []byte(hcl), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := New(cfg, Options{LogOutput: logs, Version: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return a, logs
}

// TestCertLifetimeWarnings: one warning past two thirds of the lifetime,
// one error at expiry, each once per certificate.
func TestCertLifetimeWarnings(t *testing.T) {
	a, logs := startTestAgentLog(t, 59*time.Minute) // lifetime 1h from 1 min ago
	seen := &certWarnings{aging: map[string]string{}, expired: map[string]string{}}
	now := time.Now()
	count := func(msg string) int { return strings.Count(logs.String(), msg) }
	const aging, expired = "past two thirds of its lifetime", "workload certificate expired"

	a.checkCerts(seen, now)
	if count(aging)+count(expired) != 0 {
		t.Fatalf("warned about a fresh certificate:\n%s", logs)
	}
	a.checkCerts(seen, now.Add(45*time.Minute))
	a.checkCerts(seen, now.Add(50*time.Minute))
	if count(aging) != 1 || count(expired) != 0 {
		t.Fatalf("want one aging warning:\n%s", logs)
	}
	a.checkCerts(seen, now.Add(2*time.Hour))
	a.checkCerts(seen, now.Add(3*time.Hour))
	if count(expired) != 1 {
		t.Fatalf("want one expiry error:\n%s", logs)
	}
}

// TestSystemdNotify receives the sd_notify datagrams on a test socket.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)

	next := func() string {
		t.Helper()
		buf := make([]byte, 256)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notify message: %v", err)
		}
		return string(buf[:n])
	}

	a := startTestAgent(t, time.Hour)
	if got := next(); got != "READY=1" {
		t.Fatalf("after start: %q", got)
	}
	_ = a.Reload("test")
	if got := next(); got != "RELOADING=1" {
		t.Fatalf("reload: %q", got)
	}
	if got := next(); got != "READY=1" {
		t.Fatalf("after reload: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "STOPPING=1" {
		t.Fatalf("shutdown: %q", got)
	}
}

// TestReadyFollowsCertificate: ready while the certificate is valid, not
// ready (naming the workload) once it has expired.
func TestReadyFollowsCertificate(t *testing.T) {
	a := startTestAgent(t, 3*time.Second)
	if err := a.Ready(); err != nil {
		t.Fatalf("ready with a valid certificate: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.Ready() == nil {
		if time.Now().After(deadline) {
			t.Fatal("still ready after the certificate expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Ready(); !strings.Contains(err.Error(), `workload "web" certificate is expired`) {
		t.Fatalf("not-ready reason: %v", err)
	}
}

// TestPrintStatusGolden pins the human summary of `ztunnel status`.
func TestPrintStatusGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	st := Status{
		Node: "host-a", Version: "1.0.0", UptimeSeconds: 3725, Ready: true,
		Policy:     PolicyStatus{File: "/etc/ztunnel/policy.hcl", Version: "e23ab442b3d6", Rules: 2},
		LastReload: &ReloadStatus{Source: "signal", At: at, OK: true},
		Workloads: []WorkloadStatus{
			{Name: "frontend", ID: "spiffe://example.org/ns/prod/sa/frontend", State: "valid", NotAfter: at.Add(24 * time.Hour), ExpiresInSeconds: 86400},
			{Name: "batch", ID: "spiffe://example.org/ns/dev/sa/batch", State: "expired", NotAfter: at.Add(-time.Hour), ExpiresInSeconds: -3600},
			{Name: "reports", ID: "spiffe://example.org/ns/prod/sa/reports", State: "valid", NotAfter: at.Add(time.Hour), ExpiresInSeconds: 3600,
				Enroll: &enroll.Status{Server: "10.0.0.9:8200", NextRenewal: at.Add(30 * time.Minute), LastOutcome: "error",
					LastError: "connection refused", Failures: 2, ServerReachable: false}},
		},
		Peers: []PeerStatus{
			{Name: "b", Address: "10.0.0.2:15008", Source: "static", State: "configured", Workloads: []string{"spiffe://example.org/ns/prod/sa/payments"}},
			{Name: "c", Address: "10.0.0.3:15008", Source: "gossip", State: "alive",
				Workloads: []string{"spiffe://example.org/ns/prod/sa/payments", "spiffe://example.org/ns/prod/sa/ledger"}},
		},
		Tunnels: tunnel.Status{
			Tunnels: []tunnel.TunnelStatus{{Direction: "outbound", Source: "spiffe://example.org/ns/prod/sa/frontend",
				Target: "spiffe://example.org/ns/prod/sa/payments", Peer: "10.0.0.2:15008", Streams: 2}},
			Streams: []tunnel.StreamStatus{
				{Direction: "outbound", Source: "spiffe://example.org/ns/prod/sa/frontend", Target: "spiffe://example.org/ns/prod/sa/payments"},
				{Direction: "outbound", Source: "spiffe://example.org/ns/prod/sa/frontend", Target: "spiffe://example.org/ns/prod/sa/payments"},
			},
			Totals: tunnel.Totals{Tunnels: 1, OutboundTunnels: 1, Streams: 2, OutboundStreams: 2},
		},
	}
	var out bytes.Buffer
	PrintStatus(&out, st)
	golden := filepath.Join("testdata", "status.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Fatalf("status output differs from %s:\n%s", golden, out.String())
	}
}

// TestPrintStatusCapsPeers: a large mesh does not flood the summary.
func TestPrintStatusCapsPeers(t *testing.T) {
	var st Status
	for i := range maxPeersShown + 5 {
		st.Peers = append(st.Peers, PeerStatus{Name: fmt.Sprintf("host-%03d", i), Address: "10.0.0.1:15008", Source: "gossip", State: "alive"})
	}
	var out bytes.Buffer
	PrintStatus(&out, st)
	if n := strings.Count(out.String(), " gossip  alive"); n != maxPeersShown {
		t.Errorf("%d peer rows, want %d", n, maxPeersShown)
	}
	if !strings.Contains(out.String(), "peers     35 (0 static, 35 gossip)") || !strings.Contains(out.String(), "... and 5 more") {
		t.Errorf("summary lacks the count or the rest:\n%s", out.String())
	}
}
