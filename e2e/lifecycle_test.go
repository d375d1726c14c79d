package e2e

import (
	"crypto/x509"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/agent"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// load opens connections through addr continuously from several clients,
// each a full round trip, and counts successes and failures.
type load struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(tb testing.TB, addr string, clients int) *load {
	tb.Helper()
	l := &load{stop: make(chan struct{})}
	for i := 0; i < clients; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				reply, err := roundTrip(addr, "load")
				if err != nil || reply != "load" {
					l.failed.Add(1)
					if err != nil {
						l.lastErr.Store(err.Error())
					}
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	tb.Cleanup(l.end)
	return l
}

func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// check stops the load and fails the test on any failed connection.
func (l *load) check(tb testing.TB, what string) {
	tb.Helper()
	l.end()
	tb.Logf("%s: %d connections, %d failed", what, l.ok.Load(), l.failed.Load())
	if l.failed.Load() > 0 {
		tb.Fatalf("%s: %d failed connections (last error: %v)", what, l.failed.Load(), l.lastErr.Load())
	}
	if l.ok.Load() < 10 {
		tb.Fatalf("%s: only %d connections made", what, l.ok.Load())
	}
}

// liveStream is one long-lived connection that echoes a byte on demand.
type liveStream struct{ c net.Conn }

func openLive(tb testing.TB, addr string) *liveStream {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	ls := &liveStream{c}
	ls.ping(tb)
	return ls
}

func (ls *liveStream) ping(tb testing.TB) {
	tb.Helper()
	_ = ls.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := ls.c.Write([]byte("p")); err != nil {
		tb.Fatalf("live stream write: %v", err)
	}
	b := make([]byte, 1)
	if _, err := ls.c.Read(b); err != nil {
		tb.Fatalf("live stream read: %v", err)
	}
}

// serial returns the serial of workload id's certificate in n's status.
func serial(tb testing.TB, n *node, id string) string {
	tb.Helper()
	st, err := agent.FetchStatus(n.a.AdminAddr().String())
	if err != nil {
		tb.Fatal(err)
	}
	for _, w := range st.Workloads {
		if w.ID == id {
			return w.Serial
		}
	}
	tb.Fatalf("workload %s not in status", id)
	return ""
}

func hexSerial(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// rotate issues a new pair for id from ca and renames it over name's files,
// the way config-management tools replace files.
func rotate(tb testing.TB, p *pki, ca *identitytest.CA, name, id string) *x509.Certificate {
	tb.Helper()
	leaf := ca.Issue(tb, id)
	staging := tb.TempDir()
	crt, key := leaf.WriteFiles(tb, staging, name)
	for src, dst := range map[string]string{key: p.dir + "/" + name + ".key", crt: p.dir + "/" + name + ".crt"} {
		if err := renameFile(src, dst); err != nil {
			tb.Fatal(err)
		}
	}
	return leaf.Cert
}

// TestLeafRotationUnderLoad: new certificates on both ends, renamed into
// place while clients connect continuously: no connection fails and a
// stream opened before the rotation keeps working after it.
func TestLeafRotationUnderLoad(t *testing.T) {
	pr, p := startPairPKI(t, allowFrontendPolicy, allowFrontendPolicy)
	live := openLive(t, pr.frontend)
	l := startLoad(t, pr.frontend, 4)
	time.Sleep(300 * time.Millisecond)

	newFront := rotate(t, p, p.ca, "frontend", idFrontend)
	newPay := rotate(t, p, p.ca, "payments", idPayments)
	eventually(t, 10*time.Second, "both agents on the new certificates", func() bool {
		return serial(t, pr.a, idFrontend) == hexSerial(newFront) && serial(t, pr.b, idPayments) == hexSerial(newPay)
	})
	time.Sleep(500 * time.Millisecond)
	l.check(t, "leaf rotation")
	live.ping(t)
}

// TestCARotationUnderLoad walks the documented procedure: add the new CA to
// every bundle, re-issue every leaf from it, remove the old CA; clients
// connect continuously and none fails.
func TestCARotationUnderLoad(t *testing.T) {
	pr, p := startPairPKI(t, allowFrontendPolicy, allowFrontendPolicy)
	l := startLoad(t, pr.frontend, 4)
	time.Sleep(300 * time.Millisecond)

	// 1. Both CAs in the bundle.
	newCA := identitytest.NewCA(t, td)
	writeFile(t, p.bundle, string(identitytest.BundlePEM(p.ca, newCA)))
	time.Sleep(2500 * time.Millisecond) // one file-poll round on both agents

	// 2. Every leaf re-issued by the new CA.
	newFront := rotate(t, p, newCA, "frontend", idFrontend)
	newPay := rotate(t, p, newCA, "payments", idPayments)
	rotate(t, p, newCA, "batch", idBatch)
	eventually(t, 10*time.Second, "leaves from the new CA in use", func() bool {
		return serial(t, pr.a, idFrontend) == hexSerial(newFront) && serial(t, pr.b, idPayments) == hexSerial(newPay)
	})
	time.Sleep(time.Second)

	// 3. The old CA removed; its CRL is replaced by the new CA's.
	writeFile(t, p.crl, string(newCA.CRL(t)))
	writeFile(t, p.bundle, string(identitytest.BundlePEM(newCA)))
	time.Sleep(2500 * time.Millisecond)
	l.check(t, "CA rotation")
	if reply, err := roundTrip(pr.frontend, "after"); err != nil || reply != "after" {
		t.Fatalf("after the rotation: %q %v", reply, err)
	}
}

// TestRevocationCutsLiveStream: revoking the caller's certificate closes
// its open stream within a second of the reload and refuses new ones.
func TestRevocationCutsLiveStream(t *testing.T) {
	pr, p := startPairPKI(t, allowFrontendPolicy, allowFrontendPolicy)
	live := openLive(t, pr.frontend)
	st, err := agent.FetchStatus(pr.a.a.AdminAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = st
	front := p.leaves["frontend"]
	writeFile(t, p.crl, string(p.ca.CRL(t, front)))
	start := time.Now()
	if err := pr.b.a.Reload("test"); err != nil {
		t.Fatalf("reload: %v", err)
	}
	_ = live.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := live.c.Read(make([]byte, 1))
	wantReset(t, "", err)
	cut := time.Since(start)
	t.Logf("revocation: reload to cut %v (n=%d)", cut, n)
	if cut > time.Second {
		t.Fatalf("stream cut %v after the reload, want within 1s", cut)
	}
	reply, err := roundTrip(pr.frontend, "again")
	wantReset(t, reply, err)
}
