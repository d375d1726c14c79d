package identity

import (
	"crypto/x509"
	"os"
	"sync"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// TestReloadDuringHandshakes runs handshakes while the pair is replaced
// and reloaded, for the race detector: every handshake must succeed with
// either the old or the new pair.
func TestReloadDuringHandshakes(t *testing.T) {
	e := newEnv(t)
	e.issueWorkload(t, idFront)
	e.issueWorkload(t, idPay)
	s := e.store(t)
	w := e.cfg.Workloads[1]
	var leaves []*identitytest.Leaf
	for range 8 {
		leaves = append(leaves, e.ca.Issue(t, idPay))
	}
	// swap replaces a file by rename without t.Fatal: it runs off the test
	// goroutine.
	swap := func(path string, data []byte) {
		if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := leaves[i%len(leaves)]
			swap(w.KeyFile, l.KeyPEM)
			swap(w.CertFile, l.CertPEM)
			// A reload between the two renames sees a key mismatch and
			// keeps the old pair: allowed, the next one catches up.
			_, _ = s.Reload()
			_ = s.Status()
		}
	}()
	for i := 0; i < 20; i++ {
		r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay))
		if r.serverErr != nil || r.clientErr != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("handshake %d: server %v, client %v", i, r.serverErr, r.clientErr)
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkHandshake(b *testing.B) {
	e := newEnv(b)
	e.issueWorkload(b, idFront)
	e.issueWorkload(b, idPay)
	e.addCRL(b, e.ca.CRL(b, e.ca.Issue(b, idPay).Cert))
	s := e.store(b)
	scfg := s.ServerConfig()
	ccfg := clientConfig(b, s, idFront, idPay)
	b.ResetTimer()
	for b.Loop() {
		if r := handshake(b, scfg, ccfg); r.serverErr != nil || r.clientErr != nil {
			b.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
		}
	}
}

func BenchmarkVerifyPeer(b *testing.B) {
	e := newEnv(b)
	e.addCRL(b, e.ca.CRL(b, e.ca.Issue(b, idPay).Cert))
	s := e.store(b)
	leaf := e.ca.Issue(b, idFront).Cert
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.verifyPeer([]*x509.Certificate{leaf}, peerCheck{pins: []string{Pin(leaf)}}); err != nil {
			b.Fatal(err)
		}
	}
}
