package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const allowFrontendPolicy = `
default = "deny"
rule "frontend-to-payments" {
  action = "allow"
  from   = ["spiffe://e2e.ztunnel.test/ns/prod/sa/frontend"]
  to     = ["spiffe://e2e.ztunnel.test/ns/prod/sa/payments"]
  ports  = [8443]
}
rule "no-dev-to-prod" {
  action = "deny"
  from   = ["spiffe://e2e.ztunnel.test/ns/dev/**"]
  to     = ["spiffe://e2e.ztunnel.test/ns/prod/**"]
}
`

const allowAllPolicy = `default = "allow"`

const denyAllPolicy = `
default = "allow"
rule "lockdown" {
  action = "deny"
  from   = ["spiffe://e2e.ztunnel.test/**"]
  to     = ["spiffe://e2e.ztunnel.test/**"]
}
`

// pair is host B (payments, behind an echo backend) and host A (frontend
// and batch, each with an upstream to payments), found by a static peer.
type pair struct {
	a, b             *node
	frontend, batch  string // A's upstream addresses
	policyA, policyB string
}

func startPair(t *testing.T, policyA, policyB string) *pair {
	t.Helper()
	pr, _ := startPairPKI(t, policyA, policyB)
	return pr
}

// startPairPKI is startPair that also returns the PKI behind it.
func startPairPKI(t *testing.T, policyA, policyB string) (*pair, *pki) {
	t.Helper()
	p := newPKI(t)
	dir := t.TempDir()
	pc, pk := p.issue(t, "payments", idPayments)
	fc, fk := p.issue(t, "frontend", idFrontend)
	bc, bk := p.issue(t, "batch", idBatch)
	backend := echoBackend(t)
	pr := &pair{policyA: filepath.Join(dir, "policy-a.hcl"), policyB: filepath.Join(dir, "policy-b.hcl")}
	writeFile(t, pr.policyA, policyA)
	writeFile(t, pr.policyB, policyB)

	pr.b = startAgent(t, dir, "b", agentConfig{
		Name: "b", DataDir: dir, Trust: trustBlock(p), Policy: pr.policyB,
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, Cert: pc, Key: pk,
			Exposes: []exposeConfig{{Port: 8443, Backend: backend}}}},
	}.String())
	toPayments := []upstreamConfig{{Name: "payments", Target: idPayments, Port: 8443}}
	pr.a = startAgent(t, dir, "a", agentConfig{
		Name: "a", DataDir: dir, Trust: trustBlock(p), Policy: pr.policyA,
		Workloads: []workloadConfig{
			{Name: "frontend", ID: idFrontend, Cert: fc, Key: fk, Upstreams: toPayments},
			{Name: "batch", ID: idBatch, Cert: bc, Key: bk, Upstreams: toPayments},
		},
		Peers: []peerConfig{{Name: "b", Address: pr.b.a.TunnelAddr().String(), Workloads: []string{idPayments}}},
	}.String())
	pr.frontend = pr.a.a.UpstreamAddr(idFrontend, "payments").String()
	pr.batch = pr.a.a.UpstreamAddr(idBatch, "payments").String()
	return pr, p
}

func TestAllowedAndDenied(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)

	reply, err := roundTrip(pr.frontend, "pay 42")
	if err != nil || reply != "pay 42" {
		t.Fatalf("frontend -> payments: reply %q, err %v", reply, err)
	}
	// The sending agent refuses early, naming the rule.
	reply, err = roundTrip(pr.batch, "pay 1000000")
	wantReset(t, reply, err)
	eventually(t, 2*time.Second, "A's log naming the rule", func() bool {
		return strings.Contains(pr.a.log.String(), "no-dev-to-prod")
	})
}

// The receiving agent is authoritative: a sender whose own policy allows
// everything is still refused by the receiver's policy, with the rule named
// on both sides.
func TestReceiverIsAuthoritative(t *testing.T) {
	pr := startPair(t, allowAllPolicy, allowFrontendPolicy)

	reply, err := roundTrip(pr.batch, "pay 1000000")
	wantReset(t, reply, err)
	eventually(t, 2*time.Second, "both logs naming the rule", func() bool {
		return strings.Contains(pr.b.log.String(), "no-dev-to-prod") &&
			strings.Contains(pr.a.log.String(), "no-dev-to-prod")
	})
	if reply, err := roundTrip(pr.frontend, "ok"); err != nil || reply != "ok" {
		t.Fatalf("frontend still works: %q %v", reply, err)
	}
}

// A reload that denies a live stream cuts it (as a reset), and new
// connections are refused; a broken policy keeps the old one in force.
func TestReloadCutsLiveStream(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)

	c, err := net.Dial("tcp", pr.frontend)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 5)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := readFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo before reload: %q %v", buf, err)
	}

	// A broken policy is refused and traffic is untouched.
	writeFile(t, pr.policyB, `default = "maybe"`)
	if err := pr.b.a.Reload("test"); err == nil {
		t.Fatal("reload of a broken policy succeeded")
	}
	if _, err := c.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	if _, err := readFull(c, buf); err != nil || string(buf) != "again" {
		t.Fatalf("echo after broken reload: %q %v", buf, err)
	}

	writeFile(t, pr.policyB, denyAllPolicy)
	start := time.Now()
	if err := pr.b.a.Reload("test"); err != nil {
		t.Fatalf("reload: %v", err)
	}
	// The contract is a cut within one second of the reload. The read
	// waits longer so that a slow cut fails on the time it took, with the
	// figure, rather than on a read deadline.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	took := time.Since(start)
	wantReset(t, string(buf[:n]), err)
	t.Logf("reload to cut: %v", took)
	if took > time.Second {
		t.Fatalf("the live stream was cut %v after the reload, want within 1s", took)
	}

	reply, err := roundTrip(pr.frontend, "after")
	wantReset(t, reply, err)
}

func readFull(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
