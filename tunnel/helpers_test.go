package tunnel

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
	"github.com/ztunnel-dev/ztunnel/policy"
)

const (
	testTD   = "example.org"
	idFront  = "spiffe://example.org/ns/prod/sa/frontend"
	idPay    = "spiffe://example.org/ns/prod/sa/payments"
	idOther  = "spiffe://example.org/ns/prod/sa/other"
	payPort  = 8443
	waitLong = 10 * time.Second // upper bound for things that happen "soon"
)

// newStore builds an identity.Store trusting bundle CAs, holding a leaf
// issued by issuer for each id.
func newStore(tb testing.TB, issuer *identitytest.CA, bundle []*identitytest.CA, ids ...string) *identity.Store {
	tb.Helper()
	dir := tb.TempDir()
	bundleFile := identitytest.WriteFile(tb, dir, "bundle.crt", identitytest.BundlePEM(bundle...))
	var wls []identity.WorkloadConfig
	for i, id := range ids {
		cert, key := issuer.Issue(tb, id).WriteFiles(tb, dir, "w"+string(rune('a'+i)))
		wls = append(wls, identity.WorkloadConfig{ID: id, CertFile: cert, KeyFile: key})
	}
	st, err := identity.NewStore(identity.StoreConfig{TrustDomain: testTD, BundleFile: bundleFile, Workloads: wls})
	if err != nil {
		tb.Fatalf("identity store: %v", err)
	}
	return st
}

// testLogger writes the tunnel's logs to the test log.
func testLogger(tb testing.TB, name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: hclog.Debug, Output: tbWriter{tb}})
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// switchPolicy is an Authorizer whose answer a test can change.
type switchPolicy struct {
	d atomic.Pointer[policy.Decision]
}

func newSwitchPolicy(allow bool, rule string) *switchPolicy {
	p := &switchPolicy{}
	p.set(allow, rule)
	return p
}

func (p *switchPolicy) set(allow bool, rule string) {
	p.d.Store(&policy.Decision{Allow: allow, Rule: rule})
}

func (p *switchPolicy) authorize(policy.Request) policy.Decision { return *p.d.Load() }

// staticResolver resolves every target to its addresses.
type staticResolver struct {
	mu    sync.Mutex
	addrs []string
}

func (r *staticResolver) Resolve(string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.addrs...)
}

func (r *staticResolver) set(addrs ...string) {
	r.mu.Lock()
	r.addrs = addrs
	r.mu.Unlock()
}

// recMetrics records handshakes and stream results.
type recMetrics struct {
	NopMetrics
	mu         sync.Mutex
	handshakes []string // "direction/result/reason"
	streams    []string // "direction/result"
}

func (m *recMetrics) Handshake(dir, result string, reason identity.Reason, _ time.Duration) {
	m.mu.Lock()
	m.handshakes = append(m.handshakes, dir+"/"+result+"/"+string(reason))
	m.mu.Unlock()
}

func (m *recMetrics) Stream(dir, _, _, result string) {
	m.mu.Lock()
	m.streams = append(m.streams, dir+"/"+result)
	m.mu.Unlock()
}

func (m *recMetrics) snapshot() (hs, st []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.handshakes...), append([]string(nil), m.streams...)
}

// env is a caller agent (frontend, one upstream to payments) and a callee
// agent (payments exposed on payPort) over real TCP + TLS + yamux.
type env struct {
	ca             *identitytest.CA
	client, server *Tunnel
	clientPol      *switchPolicy
	serverPol      *switchPolicy
	clientMetrics  *recMetrics
	serverMetrics  *recMetrics
	resolver       *staticResolver
	upstream       string // the upstream listener's address
}

type envOpts struct {
	ca           *identitytest.CA // nil = a new one
	backend      string           // payments' backend address
	clientConfig func(*Config)
	serverConfig func(*Config)
	noServer     bool
}

func newEnv(tb testing.TB, o envOpts) *env {
	tb.Helper()
	ca := o.ca
	if ca == nil {
		ca = identitytest.NewCA(tb, testTD)
	}
	e := &env{
		ca: ca, clientPol: newSwitchPolicy(true, "allow-all"), serverPol: newSwitchPolicy(true, "allow-all"),
		clientMetrics: &recMetrics{}, serverMetrics: &recMetrics{}, resolver: &staticResolver{},
	}
	if !o.noServer {
		scfg := DefaultConfig()
		scfg.Listen = "127.0.0.1:0"
		scfg.Exposes = []Expose{{Workload: idPay, Port: payPort, Backend: o.backend}}
		scfg.TLS = newStore(tb, ca, []*identitytest.CA{ca}, idPay)
		scfg.Authorize = e.serverPol.authorize
		scfg.Logger = testLogger(tb, "server")
		scfg.Metrics = e.serverMetrics
		if o.serverConfig != nil {
			o.serverConfig(&scfg)
		}
		e.server = startTunnel(tb, scfg)
		e.resolver.set(e.server.Addr().String())
	}
	ccfg := DefaultConfig()
	ccfg.Upstreams = []Upstream{{Source: idFront, Name: "payments", Listen: "127.0.0.1:0", Target: idPay, Port: payPort}}
	ccfg.TLS = newStore(tb, ca, []*identitytest.CA{ca}, idFront)
	ccfg.Resolver = e.resolver
	ccfg.Authorize = e.clientPol.authorize
	ccfg.Logger = testLogger(tb, "client")
	ccfg.Metrics = e.clientMetrics
	if o.clientConfig != nil {
		o.clientConfig(&ccfg)
	}
	e.client = startTunnel(tb, ccfg)
	if a := e.client.UpstreamAddr(idFront, "payments"); a != nil {
		e.upstream = a.String()
	}
	return e
}

func startTunnel(tb testing.TB, cfg Config) *Tunnel {
	tb.Helper()
	t, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := t.Start(); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { t.Close() })
	return t
}

// dial connects to addr.
func dial(tb testing.TB, addr string) *net.TCPConn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, waitLong)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return c.(*net.TCPConn)
}

// listen returns a loopback listener closed at cleanup.
func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// serve runs handle for every conn accepted on a new loopback listener
// and returns its address.
func serve(tb testing.TB, handle func(c *net.TCPConn)) string {
	tb.Helper()
	ln := listen(tb)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	return ln.Addr().String()
}

// echo copies everything back and half-closes at EOF.
func echo(c *net.TCPConn) {
	io.Copy(c, c)
	c.CloseWrite()
	io.Copy(io.Discard, c)
}

// readErr reads c until it ends and returns the final error (nil at EOF).
func readErr(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(waitLong))
	_, err := io.Copy(io.Discard, c)
	return err
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// eventually polls cond until it holds or waitLong passes.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: b})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// expectReset connects to addr and checks that the connection is reset
// (at connect, when the reset beats it, or at the first read).
func expectReset(tb testing.TB, addr string) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, waitLong)
	if err == nil {
		defer c.Close()
		err = readErr(c)
	}
	if !isReset(err) {
		tb.Fatalf("connection to %s ended with %v, want a connection reset", addr, err)
	}
}

// nullTLS is a TLSProvider for tests that never handshake.
type nullTLS struct{}

func newSwitchTLS() nullTLS                                                { return nullTLS{} }
func (nullTLS) ServerConfig() *tls.Config                                  { return &tls.Config{} }
func (nullTLS) ClientConfig(string, string, []string) (*tls.Config, error) { return &tls.Config{}, nil }
func (nullTLS) Recheck(tls.ConnectionState) error                          { return nil }
