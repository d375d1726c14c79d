package identity

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// replaceFile writes data to path atomically (temp file + rename), as
// certificate managers do.
func replaceFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

func reload(tb testing.TB, s *Store, wantChanged bool) {
	tb.Helper()
	changed, err := s.Reload()
	if err != nil || changed != wantChanged {
		tb.Fatalf("Reload = %v, %v; want %v, nil", changed, err, wantChanged)
	}
}

func TestReloadNewPairUsedByNextHandshake(t *testing.T) {
	e := newEnv(t)
	e.issueWorkload(t, idFront)
	old := e.issueWorkload(t, idPay)
	s := e.store(t)
	reload(t, s, false)

	next := e.ca.Issue(t, idPay)
	w := e.cfg.Workloads[1]
	replaceFile(t, w.KeyFile, next.KeyPEM)
	replaceFile(t, w.CertFile, next.CertPEM)
	reload(t, s, true)
	if got := s.Current(idPay).Serial; got != next.Cert.SerialNumber.Text(16) {
		t.Fatalf("Current serial %s, want the new %s (old %s)", got, next.Cert.SerialNumber.Text(16), old.Cert.SerialNumber.Text(16))
	}
	r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay))
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
	}
	if got := r.client.PeerCertificates[0].SerialNumber; got.Cmp(next.Cert.SerialNumber) != 0 {
		t.Fatalf("server presented serial %s, want the new one", got.Text(16))
	}
	reload(t, s, false)
}

func TestReloadBrokenFilesKeepOldPair(t *testing.T) {
	tests := []struct {
		name       string
		write      func(t *testing.T, e *testEnv, w WorkloadConfig) string // returns the wanted error
		wantReason Reason
	}{
		{name: "half-written certificate", write: func(t *testing.T, e *testEnv, w WorkloadConfig) string {
			l := e.ca.Issue(t, idFront)
			replaceFile(t, w.KeyFile, l.KeyPEM)
			replaceFile(t, w.CertFile, l.CertPEM[:len(l.CertPEM)-40])
			return `identity: certificate file "` + w.CertFile + `" holds an incomplete PEM block (half-written file?)`
		}},
		{name: "half-written key", write: func(t *testing.T, e *testEnv, w WorkloadConfig) string {
			l := e.ca.Issue(t, idFront)
			replaceFile(t, w.CertFile, l.CertPEM)
			replaceFile(t, w.KeyFile, l.KeyPEM[:30])
			return `identity: key file "` + w.KeyFile + `" holds an incomplete PEM block (half-written file?)`
		}},
		{name: "key mismatch", wantReason: ReasonKeyMismatch, write: func(t *testing.T, e *testEnv, w WorkloadConfig) string {
			replaceFile(t, w.CertFile, e.ca.Issue(t, idFront).CertPEM)
			return `identity: key file "` + w.KeyFile + `" does not match the certificate in "` + w.CertFile + `"`
		}},
		{name: "SVID rule broken", wantReason: ReasonNoDigitalSignature, write: func(t *testing.T, e *testEnv, w WorkloadConfig) string {
			l := e.ca.Issue(t, idFront, identitytest.WithKeyUsage(0x20))
			replaceFile(t, w.KeyFile, l.KeyPEM)
			replaceFile(t, w.CertFile, l.CertPEM)
			return `identity: certificate file "` + w.CertFile + `": certificate "` + idFront + `" lacks key usage digitalSignature`
		}},
		{name: "certificate removed", write: func(t *testing.T, e *testEnv, w WorkloadConfig) string {
			os.Remove(w.CertFile)
			return `identity: certificate file "` + w.CertFile + `" cannot be read: no such file or directory`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.issueWorkload(t, idFront)
			s := e.store(t)
			before := s.Current(idFront)
			want := tt.write(t, e, e.cfg.Workloads[0])
			changed, err := s.Reload()
			wantErr(t, err, want, tt.wantReason)
			if changed || s.Current(idFront) != before {
				t.Fatal("a broken file replaced the old pair")
			}
			if got := s.Status().Workloads[0].LastError; got != want {
				t.Fatalf("status last_error %q, want %q", got, want)
			}
			r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idFront))
			if r.serverErr != nil || r.clientErr != nil {
				t.Fatalf("old pair no longer works: server %v, client %v", r.serverErr, r.clientErr)
			}
			// Fixing the files clears the error.
			l := e.ca.Issue(t, idFront)
			w := e.cfg.Workloads[0]
			replaceFile(t, w.KeyFile, l.KeyPEM)
			replaceFile(t, w.CertFile, l.CertPEM)
			reload(t, s, true)
			if got := s.Status().Workloads[0].LastError; got != "" {
				t.Fatalf("last_error %q after a good reload", got)
			}
		})
	}
}

func TestReloadSymlinkSwap(t *testing.T) {
	// Kubernetes-style: the configured paths go through a "current" link
	// that is swapped to a new directory by an atomic rename.
	e := newEnv(t)
	write := func(name string, l *identitytest.Leaf) {
		d := filepath.Join(e.dir, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		l.WriteFiles(t, d, "tls")
	}
	link := func(target string) {
		tmp := filepath.Join(e.dir, "current.tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(e.dir, "current")); err != nil {
			t.Fatal(err)
		}
	}
	first, second := e.ca.Issue(t, idFront), e.ca.Issue(t, idFront)
	write("v1", first)
	write("v2", second)
	link("v1")
	cur := filepath.Join(e.dir, "current")
	e.cfg.Workloads = []WorkloadConfig{{ID: idFront, CertFile: filepath.Join(cur, "tls.crt"), KeyFile: filepath.Join(cur, "tls.key")}}
	s := e.store(t)
	if s.Current(idFront).Pin != Pin(first.Cert) {
		t.Fatal("first pair not loaded")
	}
	link("v2")
	reload(t, s, true)
	if s.Current(idFront).Pin != Pin(second.Cert) {
		t.Fatal("symlink swap not picked up")
	}
}

func TestReloadBundle(t *testing.T) {
	e := newEnv(t)
	e.issueWorkload(t, idFront)
	s := e.store(t)

	// A broken bundle keeps the old one.
	replaceFile(t, e.cfg.BundleFile, e.ca.CertPEM()[:100])
	changed, err := s.Reload()
	wantErr(t, err, `identity: bundle file "`+e.cfg.BundleFile+`" holds an incomplete PEM block (half-written file?)`, "")
	if changed {
		t.Fatal("broken bundle reported as a change")
	}
	if got := s.Status().Bundle.LastError; !strings.Contains(got, "incomplete PEM block") {
		t.Fatalf("bundle last_error %q", got)
	}
	peer := e.ca.Issue(t, idPay).Cert
	if _, err := s.verifyPeer([]*x509.Certificate{peer}, peerCheck{}); err != nil {
		t.Fatalf("old bundle lost: %v", err)
	}

	// Rotation: both CAs in the bundle, then peers of the new CA pass.
	next := identitytest.NewCA(t, testTD)
	newPeer := next.Issue(t, idPay).Cert
	wantReason(t, "before rotation", func() error { _, err := s.verifyPeer([]*x509.Certificate{newPeer}, peerCheck{}); return err }(), ReasonUnknownIssuer)
	replaceFile(t, e.cfg.BundleFile, identitytest.BundlePEM(e.ca, next))
	reload(t, s, true)
	for _, c := range []*x509.Certificate{peer, newPeer} {
		if _, err := s.verifyPeer([]*x509.Certificate{c}, peerCheck{}); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if n := len(s.Status().Bundle.CASubjects); n != 2 {
		t.Fatalf("%d CA subjects, want 2", n)
	}
}

func TestReloadCRLKeepsOldOnBadSignature(t *testing.T) {
	e := newEnv(t)
	e.issueWorkload(t, idFront)
	revoked := e.ca.Issue(t, idPay)
	p := e.addCRL(t, e.ca.CRL(t, revoked.Cert))
	s := e.store(t)
	replaceFile(t, p, identitytest.NewCA(t, testTD).CRL(t))
	changed, err := s.Reload()
	wantErr(t, err, `identity: CRL file "`+p+`" is not signed by any CA of the trust bundle`, "")
	if changed {
		t.Fatal("forged CRL reported as a change")
	}
	_, err = s.verifyPeer([]*x509.Certificate{revoked.Cert}, peerCheck{})
	wantReason(t, "verify", err, ReasonRevoked)
}
