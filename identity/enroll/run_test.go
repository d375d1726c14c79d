package enroll

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

func diskLeaf(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		tb.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// echo accepts TLS connections on ln and echoes what it reads.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func roundTrip(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("x")); err != nil {
		return err
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err
}

// TestRunRenewsUnderLoad enrolls two workloads with 6-second certificates
// (5 to 6 s of life: NotAfter has whole seconds; less left too little
// margin on this shared, throttled machine) and renews them for about
// 10 seconds while a client workload handshakes
// with a server workload continuously through identity.Store (the agent's
// rotation path). Every handshake must succeed, the stored and the loaded
// certificates must be valid at every moment, and a connection opened
// before the first renewal must still carry data at the end.
func TestRunRenewsUnderLoad(t *testing.T) {
	c := newTestCA(t, 6*time.Second)
	var store atomic.Pointer[identity.Store]
	var reloadErrs atomic.Int64
	reload := func() {
		if s := store.Load(); s != nil {
			if _, err := s.Reload(); err != nil {
				reloadErrs.Add(1)
				t.Logf("reload: %v", err)
			}
		}
	}
	var clients []*Client
	var wls []identity.WorkloadConfig
	for _, id := range []string{idFront, idPay} {
		cfg := c.config(id, c.token(id, 0))
		cfg.OnUpdate = reload
		cl := newClient(t, cfg)
		if err := cl.Ensure(context.Background()); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, cl)
		wls = append(wls, identity.WorkloadConfig{ID: id, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile})
	}
	s, err := identity.NewStore(identity.StoreConfig{TrustDomain: td, BundleFile: clients[0].cfg.TrustBundle, Workloads: wls})
	if err != nil {
		t.Fatal(err)
	}
	store.Store(s)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go echo(ln)
	dial := func() (net.Conn, error) {
		cc, err := s.ClientConfig(idFront, idPay, nil)
		if err != nil {
			return nil, err
		}
		return tls.Dial("tcp", ln.Addr().String(), cc)
	}
	long, err := dial()
	if err != nil {
		t.Fatalf("first connection: %v", err)
	}
	defer long.Close()
	for _, cl := range clients {
		runClient(t, cl)
	}

	var (
		ok, failed atomic.Int64
		wg         sync.WaitGroup
		stop       = make(chan struct{})
		stopOnce   sync.Once
	)
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	t.Cleanup(halt) // also after a Fatal
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := dial()
				if err == nil {
					err = roundTrip(conn)
					conn.Close()
				}
				if err != nil {
					if failed.Add(1) <= 3 {
						t.Errorf("connection failed: %v", err)
					}
					continue
				}
				ok.Add(1)
			}
		}()
	}
	serials := map[string]bool{}
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		now := time.Now()
		if cur := s.Current(idFront); !now.Before(cur.NotAfter) {
			t.Fatalf("the store holds an expired certificate (serial %s, expired %s)", cur.Serial, cur.NotAfter)
		}
		if leaf := diskLeaf(t, clients[0].cfg.CertFile); !now.Before(leaf.NotAfter) {
			t.Fatalf("the stored certificate expired at %s", leaf.NotAfter)
		}
		serials[s.Current(idFront).Serial] = true
		time.Sleep(50 * time.Millisecond)
	}
	halt()
	if err := roundTrip(long); err != nil {
		t.Fatalf("the connection opened before the renewals: %v", err)
	}
	st := clients[0].Status()
	t.Logf("TTL 6s: %d handshakes ok, %d failed; %d certificates used by the store; renewals %d, failures %d; reload errors %d",
		ok.Load(), failed.Load(), len(serials), st.Renewals, st.RenewalFailures, reloadErrs.Load())
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d handshakes failed, %d succeeded", failed.Load(), ok.Load())
	}
	if len(serials) < 3 || st.Renewals < 2 || st.LastOutcome != OutcomeOK || st.RenewalFailures != 0 {
		t.Fatalf("%d serials used, status %+v; want at least 2 renewals without failure", len(serials), st)
	}
	if !st.NextRenewal.Before(st.NotAfter) {
		t.Fatalf("next renewal %s is not before the expiry %s", st.NextRenewal, st.NotAfter)
	}
}

func TestRunServerDownThenBack(t *testing.T) {
	c := newTestCA(t, 6*time.Second)
	cfg := c.config(idFront, c.token(idFront, 0))
	cl := newClient(t, cfg)
	if err := cl.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := diskLeaf(t, cfg.CertFile)
	c.stop()
	runClient(t, cl)
	waitFor(t, 10*time.Second, "two failed renewals", func() bool { return cl.Status().Failures >= 2 })
	st := cl.Status()
	if st.ServerReachable || st.LastOutcome != OutcomeError || !strings.Contains(st.LastError, "enroll: the CA server at "+c.addr+" cannot be reached for the renewal: ") {
		t.Fatalf("status while down: %+v", st)
	}
	if leaf := diskLeaf(t, cfg.CertFile); !leaf.Equal(first) || !time.Now().Before(leaf.NotAfter) {
		t.Fatal("the stored certificate changed or expired while the server was down")
	}
	c.start()
	waitFor(t, 10*time.Second, "a renewal after the server is back", func() bool { return cl.Status().Renewals >= 1 })
	st = cl.Status()
	leaf := diskLeaf(t, cfg.CertFile)
	if st.LastOutcome != OutcomeOK || st.Failures != 0 || !st.ServerReachable || leaf.Equal(first) || st.Serial != leaf.SerialNumber.Text(16) {
		t.Fatalf("after recovery: %+v", st)
	}
}

func TestRunRevokedCannotRenew(t *testing.T) {
	c := newTestCA(t, 3*time.Second)
	cfg := c.config(idFront, c.token(idFront, 0))
	cl := newClient(t, cfg)
	if err := cl.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	leaf := diskLeaf(t, cfg.CertFile)
	if err := ca.Revoke(c.dir, cfg.CertFile, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.TokenFile); err != nil { // used; deleted after enrollment
		t.Fatal(err)
	}
	runClient(t, cl)
	waitFor(t, 10*time.Second, "two refused renewals", func() bool { return cl.Status().Failures >= 2 })
	want := "enroll: the CA server at " + c.addr + " refused the renewal: the client certificate of " + idFront + " (serial " + leaf.SerialNumber.Text(16) + ") is revoked"
	if st := cl.Status(); st.LastError != want || !st.ServerReachable || st.Renewals != 0 {
		t.Fatalf("status %+v\nwant last error %q", st, want)
	}
	if !diskLeaf(t, cfg.CertFile).Equal(leaf) {
		t.Fatal("a revoked client got a new certificate")
	}

	// The operator drops a new token into the token file: the client enrolls
	// again without a restart.
	if err := os.WriteFile(cfg.TokenFile, []byte(c.token(idFront, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "re-enrollment with the new token", func() bool { return cl.Status().LastOutcome == OutcomeOK })
	if now := diskLeaf(t, cfg.CertFile); now.Equal(leaf) || cl.Status().Serial != now.SerialNumber.Text(16) {
		t.Fatal("the re-enrolled certificate is not stored")
	}
}

func TestRunNeedsEnsure(t *testing.T) {
	cl := newClient(t, Config{Server: "127.0.0.1:1", TrustBundle: "b", TrustDomain: td, ID: idFront, CertFile: "c", KeyFile: "k"})
	if err := cl.Run(context.Background()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("Run before Ensure = %v, want ErrNoToken", err)
	}
}

func TestBackoff(t *testing.T) {
	cl := newClient(t, Config{Server: "127.0.0.1:1", TrustBundle: "b", TrustDomain: td, ID: idFront, CertFile: "c", KeyFile: "k",
		MinBackoff: time.Second, MaxBackoff: time.Minute})
	tests := []struct {
		name      string
		failures  int
		remaining time.Duration
		base      time.Duration
	}{
		{name: "first", failures: 1, remaining: time.Hour, base: time.Second},
		{name: "doubles", failures: 4, remaining: time.Hour, base: 8 * time.Second},
		{name: "capped", failures: 30, remaining: time.Hour, base: time.Minute},
		{name: "third of the remaining life", failures: 30, remaining: 30 * time.Second, base: 10 * time.Second},
		{name: "never under the minimum", failures: 30, remaining: time.Second, base: time.Second},
		{name: "expired: plain back-off", failures: 4, remaining: -time.Hour, base: 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				d := cl.backoff(tt.failures, tt.remaining)
				if d < tt.base*8/10 || d > tt.base*12/10 {
					t.Fatalf("backoff = %s, want %s ±20%%", d, tt.base)
				}
			}
		})
	}
}

func TestStatusJSON(t *testing.T) {
	b, err := json.Marshal(Status{ID: idFront, Server: "h:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"` + idFront + `","server":"h:1","consecutive_failures":0,"renewals":0,"renewal_failures":0,"server_reachable":false}`
	if string(b) != want {
		t.Fatalf("JSON %s\nwant %s", b, want)
	}
}
