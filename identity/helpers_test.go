package identity

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

const (
	testTD  = "example.org"
	idFront = "spiffe://example.org/ns/prod/sa/frontend"
	idPay   = "spiffe://example.org/ns/prod/sa/payments"
)

// fakeClock is an injectable Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testEnv is a temp dir with a CA, its bundle file and a store config.
type testEnv struct {
	dir   string
	ca    *identitytest.CA
	clock *fakeClock
	cfg   StoreConfig
	log   *logSink
}

func newEnv(tb testing.TB) *testEnv {
	tb.Helper()
	e := &testEnv{dir: tb.TempDir(), ca: identitytest.NewCA(tb, testTD), clock: &fakeClock{t: time.Now()}, log: &logSink{}}
	e.cfg = DefaultStoreConfig()
	e.cfg.TrustDomain = testTD
	e.cfg.BundleFile = e.ca.WriteBundle(tb, e.dir)
	e.cfg.Now = e.clock.Now
	e.cfg.Logger = hclog.New(&hclog.LoggerOptions{Output: e.log, Level: hclog.Warn})
	return e
}

// fileName turns an ID into a file name stem.
func fileName(id string) string {
	return strings.NewReplacer("spiffe://", "", "/", "_").Replace(id)
}

// addWorkload writes leaf's files and adds the workload id to the config.
func (e *testEnv) addWorkload(tb testing.TB, id string, leaf *identitytest.Leaf) WorkloadConfig {
	tb.Helper()
	crt, key := leaf.WriteFiles(tb, e.dir, fileName(id))
	w := WorkloadConfig{ID: id, CertFile: crt, KeyFile: key}
	e.cfg.Workloads = append(e.cfg.Workloads, w)
	return w
}

// issueWorkload issues a good leaf for id and adds it.
func (e *testEnv) issueWorkload(tb testing.TB, id string) *identitytest.Leaf {
	tb.Helper()
	l := e.ca.Issue(tb, id)
	e.addWorkload(tb, id, l)
	return l
}

func (e *testEnv) addCRL(tb testing.TB, pemCRL []byte) string {
	tb.Helper()
	p := identitytest.WriteFile(tb, e.dir, "crl"+string(rune('0'+len(e.cfg.CRLFiles)))+".pem", pemCRL)
	e.cfg.CRLFiles = append(e.cfg.CRLFiles, p)
	return p
}

func (e *testEnv) store(tb testing.TB) *Store {
	tb.Helper()
	s, err := NewStore(e.cfg)
	if err != nil {
		tb.Fatalf("NewStore: %v", err)
	}
	return s
}

func (e *testEnv) path(name string) string { return filepath.Join(e.dir, name) }

// logSink collects log output for assertions.
type logSink struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func wantErr(tb testing.TB, err error, want string, reason Reason) {
	tb.Helper()
	if errString(err) != want {
		tb.Fatalf("error\n got %q\nwant %q", errString(err), want)
	}
	if want != "" && reason != "" && ReasonOf(err) != reason {
		tb.Fatalf("reason %q, want %q", ReasonOf(err), reason)
	}
}
