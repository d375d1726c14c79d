package enroll

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

const (
	td      = "example.org"
	idFront = "spiffe://example.org/ns/prod/sa/frontend"
	idPay   = "spiffe://example.org/ns/prod/sa/payments"
)

// testCA is a CA directory with a CA server on 127.0.0.1 that a test can
// stop and start again on the same address.
type testCA struct {
	tb   testing.TB
	dir  string
	addr string
	cfg  ca.ServeConfig
	stop func()
}

func newTestCA(tb testing.TB, svidTTL time.Duration) *testCA {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "ca")
	if err := ca.Init(dir, td, 0); err != nil {
		tb.Fatalf("ca.Init: %v", err)
	}
	c := &testCA{tb: tb, dir: dir, addr: "127.0.0.1:0", cfg: ca.ServeConfig{Dir: dir, SVIDTTL: svidTTL, RateBurst: 1000, RatePerSecond: 1000, Logger: testLogger(tb, "ca")}}
	c.start()
	tb.Cleanup(func() {
		if c.stop != nil {
			c.stop()
		}
	})
	return c
}

func (c *testCA) start() {
	c.tb.Helper()
	s, err := ca.NewServer(c.cfg)
	if err != nil {
		c.tb.Fatalf("ca.NewServer: %v", err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the old port may linger briefly after a stop
		if ln, err = net.Listen("tcp", c.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		c.tb.Fatal(err)
	}
	c.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c.stop = func() {
		cancel()
		if err := <-done; err != nil {
			c.tb.Errorf("Serve: %v", err)
		}
		c.stop = nil
	}
}

func (c *testCA) token(id string, ttl time.Duration) string {
	c.tb.Helper()
	tok, err := ca.NewToken(c.dir, id, ttl)
	if err != nil {
		c.tb.Fatalf("ca.NewToken: %v", err)
	}
	return tok
}

// config returns a client config for id with the token written to a file
// in a fresh data directory.
func (c *testCA) config(id, token string) Config {
	c.tb.Helper()
	data := c.tb.TempDir()
	tf := filepath.Join(data, "join.token")
	if err := os.WriteFile(tf, []byte(token+"\n"), 0o600); err != nil {
		c.tb.Fatal(err)
	}
	return Config{
		Server: c.addr, TrustBundle: filepath.Join(c.dir, ca.CertFile), TrustDomain: td, ID: id,
		TokenFile: tf, CertFile: filepath.Join(data, "w.crt"), KeyFile: filepath.Join(data, "w.key"),
		Timeout: 5 * time.Second, MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		Logger: testLogger(c.tb, "enroll"),
	}
}

func newClient(tb testing.TB, cfg Config) *Client {
	tb.Helper()
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// runClient runs c.Run until the test ends.
func runClient(tb testing.TB, c *Client) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			tb.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// waitFor polls cond every 20ms for up to d.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// startImpostor serves TLS 1.3 with the given pair on addr until the test ends.
func startImpostor(tb testing.TB, addr, certFile, keyFile string) {
	tb.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}})
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
}

// testLogger logs through tb.Log (shown with -v or on failure).
func testLogger(tb testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: tbWriter{tb}, TimeFormat: "15:04:05.000"})
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
