package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/agent"
	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

const td = "e2e.ztunnel.test"

// Workload IDs used across the tests.
var (
	idFrontend = "spiffe://" + td + "/ns/prod/sa/frontend"
	idBatch    = "spiffe://" + td + "/ns/dev/sa/batch"
	idPayments = "spiffe://" + td + "/ns/prod/sa/payments"
)

// pki is a test CA that writes its bundle and leaves to a folder.
type pki struct {
	dir    string
	ca     *identitytest.CA
	bundle string
	crl    string
	leaves map[string]*x509.Certificate // by file name, as issued last
}

func newPKI(tb testing.TB) *pki {
	tb.Helper()
	dir := tb.TempDir()
	ca := identitytest.NewCA(tb, td)
	p := &pki{dir: dir, ca: ca, bundle: ca.WriteBundle(tb, dir), leaves: map[string]*x509.Certificate{}}
	p.crl = identitytest.WriteFile(tb, dir, "ca.crl", ca.CRL(tb))
	return p
}

// issue writes name.crt/name.key for id and returns their paths.
func (p *pki) issue(tb testing.TB, name, id string) (string, string) {
	tb.Helper()
	leaf := p.ca.Issue(tb, id)
	p.leaves[name] = leaf.Cert
	return leaf.WriteFiles(tb, p.dir, name)
}

// renameFile moves src over dst, across folders if it must (copy to a
// temporary name beside dst, then rename: dst is never half-written).
func renameFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// syncBuffer collects an agent's log; it is printed when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is one in-process agent.
type node struct {
	a    *agent.Agent
	file string
	log  *syncBuffer
}

// startAgent writes hcl to dir/name.hcl, loads it and starts an agent; it is
// closed when the test ends and its log is printed if the test failed.
func startAgent(tb testing.TB, dir, name, hcl string) *node {
	tb.Helper()
	file := filepath.Join(dir, name+".hcl")
	if err := os.WriteFile(file, []byte(hcl), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatalf("config %s:\n%v", name, err)
	}
	n := &node{file: file, log: &syncBuffer{}}
	n.a, err = agent.New(cfg, agent.Options{LogOutput: n.log, Version: "e2e"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		n.a.Close()
		if tb.Failed() {
			tb.Logf("log of %s:\n%s", name, n.log.String())
		}
	})
	if err := n.a.Start(context.Background()); err != nil {
		tb.Fatalf("start %s: %v\nlog:\n%s", name, err, n.log.String())
	}
	return n
}

// echoBackend answers every connection with what it reads, and half-closes
// when the caller has half-closed: the reply arriving after the caller's
// shutdown(SHUT_WR) is how the tests see half-close cross the tunnel.
func echoBackend(tb testing.TB) string {
	tb.Helper()
	return serveTCP(tb, func(c net.Conn) {
		_, _ = io.Copy(c, c)
		_ = c.(*net.TCPConn).CloseWrite()
	})
}

// roundTrip sends msg through addr, half-closes, and returns the answer.
func roundTrip(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// wantReset checks that the app saw its connection reset (not a clean EOF).
// Linux reports a reset once, to whichever call comes first: a read gets
// ECONNRESET, a later write EPIPE, a later shutdown ENOTCONN. Each means
// the peer reset the connection.
func wantReset(tb testing.TB, reply string, err error) {
	tb.Helper()
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ENOTCONN) {
		tb.Fatalf("want connection reset, got reply %q, err %v", reply, err)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

func trustBlock(p *pki) string {
	return fmt.Sprintf("trust {\n  trust_domain = %q\n  bundle = %q\n  crls = [%q]\n}\n", td, p.bundle, p.crl)
}
