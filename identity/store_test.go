package identity

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

func TestNewStoreErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *testEnv) string // returns the wanted error
		wantReason Reason
	}{
		{name: "missing bundle", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.BundleFile = e.path("nope.pem")
			return `identity: bundle file "` + e.cfg.BundleFile + `" cannot be read: no such file or directory`
		}},
		{name: "bundle not PEM", setup: func(t *testing.T, e *testEnv) string {
			identitytest.WriteFile(t, e.dir, "bundle.pem", []byte("hello"))
			return `identity: bundle file "` + e.cfg.BundleFile + `" is not PEM`
		}},
		{name: "bundle empty", setup: func(t *testing.T, e *testEnv) string {
			identitytest.WriteFile(t, e.dir, "bundle.pem", nil)
			return `identity: bundle file "` + e.cfg.BundleFile + `" holds no PEM block`
		}},
		{name: "bundle with a leaf", setup: func(t *testing.T, e *testEnv) string {
			l := e.ca.Issue(t, idFront)
			identitytest.WriteFile(t, e.dir, "bundle.pem", append(e.ca.CertPEM(), l.CertPEM...))
			return `identity: bundle file "` + e.cfg.BundleFile + `": certificate 2 ("` + idFront + `") is not a CA certificate`
		}},
		{name: "missing certificate", setup: func(t *testing.T, e *testEnv) string {
			w := e.issueWorkload(t, idFront)
			_ = w
			os.Remove(e.cfg.Workloads[0].CertFile)
			return `identity: certificate file "` + e.cfg.Workloads[0].CertFile + `" cannot be read: no such file or directory`
		}},
		{name: "half-written certificate", setup: func(t *testing.T, e *testEnv) string {
			l := e.issueWorkload(t, idFront)
			identitytest.WriteFile(t, e.dir, fileName(idFront)+".crt", l.CertPEM[:len(l.CertPEM)/2])
			return `identity: certificate file "` + e.cfg.Workloads[0].CertFile + `" holds an incomplete PEM block (half-written file?)`
		}},
		{name: "key is a certificate", setup: func(t *testing.T, e *testEnv) string {
			l := e.issueWorkload(t, idFront)
			identitytest.WriteFile(t, e.dir, fileName(idFront)+".key", l.CertPEM)
			return `identity: key file "` + e.cfg.Workloads[0].KeyFile + `" holds a "CERTIFICATE" PEM block, not a private key`
		}},
		{name: "key mismatch", wantReason: ReasonKeyMismatch, setup: func(t *testing.T, e *testEnv) string {
			e.issueWorkload(t, idFront)
			identitytest.WriteFile(t, e.dir, fileName(idFront)+".key", e.ca.Issue(t, idFront).KeyPEM)
			w := e.cfg.Workloads[0]
			return `identity: key file "` + w.KeyFile + `" does not match the certificate in "` + w.CertFile + `"`
		}},
		{name: "SVID rule broken", wantReason: ReasonIsCA, setup: func(t *testing.T, e *testEnv) string {
			w := e.addWorkload(t, idFront, e.ca.Issue(t, idFront, identitytest.WithIsCA()))
			return `identity: certificate file "` + w.CertFile + `": certificate "` + idFront + `" is a CA certificate (cA=true), not a leaf`
		}},
		{name: "ID differs", wantReason: ReasonWrongID, setup: func(t *testing.T, e *testEnv) string {
			w := e.addWorkload(t, idFront, e.ca.Issue(t, idPay))
			return `identity: certificate file "` + w.CertFile + `" holds ID "` + idPay + `", but the workload is configured as "` + idFront + `"`
		}},
		{name: "not chaining to the bundle", wantReason: ReasonUnknownIssuer, setup: func(t *testing.T, e *testEnv) string {
			other := identitytest.NewCA(t, testTD)
			w := e.addWorkload(t, idFront, other.Issue(t, idFront))
			return `identity: certificate file "` + w.CertFile + `": certificate "` + idFront + `" is not signed by a CA of the trust bundle (issuer "` + other.Cert.Subject.String() + `")`
		}},
		{name: "expired", wantReason: ReasonExpired, setup: func(t *testing.T, e *testEnv) string {
			na := time.Now().Add(-time.Minute)
			w := e.addWorkload(t, idFront, e.ca.Issue(t, idFront, identitytest.WithValidity(na.Add(-time.Hour), na)))
			return `identity: certificate file "` + w.CertFile + `": certificate "` + idFront + `" expired at ` + na.UTC().Format(time.RFC3339)
		}},
		{name: "own certificate revoked", wantReason: ReasonRevoked, setup: func(t *testing.T, e *testEnv) string {
			l := e.ca.Issue(t, idFront, identitytest.WithSerial(0xbad))
			w := e.addWorkload(t, idFront, l)
			e.addCRL(t, e.ca.CRL(t, l.Cert))
			return `identity: certificate file "` + w.CertFile + `": certificate "` + idFront + `" (serial bad) is revoked by its issuer's CRL`
		}},
		{name: "empty CRL path", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.CRLFiles = []string{""}
			return "identity: bad store config: CRL file 1 is an empty path"
		}},
		{name: "CRL of another CA", setup: func(t *testing.T, e *testEnv) string {
			p := e.addCRL(t, identitytest.NewCA(t, testTD).CRL(t))
			return `identity: CRL file "` + p + `" is not signed by any CA of the trust bundle`
		}},
		{name: "CRL garbage", setup: func(t *testing.T, e *testEnv) string {
			p := e.addCRL(t, []byte("garbage"))
			return `identity: CRL file "` + p + `" is neither a PEM nor a DER CRL: x509: malformed crl`
		}},
		{name: "two problems", wantReason: ReasonKeyMismatch, setup: func(t *testing.T, e *testEnv) string {
			e.issueWorkload(t, idFront)
			identitytest.WriteFile(t, e.dir, fileName(idFront)+".key", e.ca.Issue(t, idFront).KeyPEM)
			p := e.addCRL(t, identitytest.NewCA(t, testTD).CRL(t))
			w := e.cfg.Workloads[0]
			return `identity: CRL file "` + p + `" is not signed by any CA of the trust bundle` + "\n" +
				`identity: key file "` + w.KeyFile + `" does not match the certificate in "` + w.CertFile + `"`
		}},
		{name: "empty trust domain", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.TrustDomain = ""
			return "identity: bad store config: the trust domain is empty"
		}},
		{name: "bad trust domain", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.TrustDomain = "Example.org"
			return `identity: bad store config: trust domain "Example.org" is not a valid trust domain name`
		}},
		{name: "bad revocation", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.Revocation = "maybe"
			return `identity: bad store config: revocation "maybe" must be "fail_closed" or "fail_open"`
		}},
		{name: "workload in another trust domain", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.Workloads = []WorkloadConfig{{ID: "spiffe://other.org/w", CertFile: "c", KeyFile: "k"}}
			return `identity: bad store config: workload "spiffe://other.org/w" is not in trust domain "example.org"`
		}},
		{name: "workload twice", setup: func(t *testing.T, e *testEnv) string {
			w := WorkloadConfig{ID: idFront, CertFile: "c", KeyFile: "k"}
			e.cfg.Workloads = []WorkloadConfig{w, w}
			return `identity: bad store config: workload "` + idFront + `" is configured twice`
		}},
		{name: "workload root ID", setup: func(t *testing.T, e *testEnv) string {
			e.cfg.Workloads = []WorkloadConfig{{ID: "spiffe://example.org", CertFile: "c", KeyFile: "k"}}
			return `identity: bad store config: workload 1: SPIFFE ID "spiffe://example.org" has no path: a workload ID needs one`
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			want := tt.setup(t, e)
			s, err := NewStore(e.cfg)
			if s != nil {
				t.Fatal("NewStore returned a store with an error")
			}
			wantErr(t, err, want, tt.wantReason)
		})
	}
}

func TestNewStoreFailOpenSkipsBrokenCRL(t *testing.T) {
	e := newEnv(t)
	e.issueWorkload(t, idFront)
	e.cfg.Revocation = RevocationFailOpen
	p := e.addCRL(t, []byte("garbage"))
	s := e.store(t)
	if !strings.Contains(e.log.String(), "CRL not loaded") {
		t.Fatalf("no warning logged: %q", e.log.String())
	}
	if _, err := s.verifyPeer([]*x509.Certificate{e.ca.Issue(t, idPay).Cert}, peerCheck{}); err != nil {
		t.Fatalf("fail_open refused a peer while a CRL is missing: %v", err)
	}
	if !strings.Contains(e.log.String(), "1 CRL file(s) could not be loaded") {
		t.Fatalf("no per-handshake warning logged: %q", e.log.String())
	}
	st := s.Status()
	if len(st.CRLs) != 1 || st.CRLs[0].Loaded || st.CRLs[0].File != p || st.CRLs[0].LastError == "" {
		t.Fatalf("CRL status %+v", st.CRLs)
	}
}

func TestStatus(t *testing.T) {
	e := newEnv(t)
	l := e.issueWorkload(t, idFront)
	revoked := e.ca.Issue(t, idPay)
	e.addCRL(t, e.ca.CRL(t, revoked.Cert))
	s := e.store(t)
	st := s.Status()
	if st.TrustDomain != testTD || st.Revocation != RevocationFailClosed {
		t.Fatalf("status %+v", st)
	}
	w := st.Workloads[0]
	if w.ID != idFront || w.Serial != l.Cert.SerialNumber.Text(16) || w.Pin != Pin(l.Cert) || !w.NotAfter.Equal(l.Cert.NotAfter) || w.LoadedAt.IsZero() {
		t.Fatalf("workload status %+v", w)
	}
	if len(st.Bundle.CASubjects) != 1 || st.Bundle.CASubjects[0] != e.ca.Cert.Subject.String() {
		t.Fatalf("bundle status %+v", st.Bundle)
	}
	if c := st.CRLs[0]; !c.Loaded || c.Revoked != 1 || c.Stale || c.NextUpdate.IsZero() {
		t.Fatalf("CRL status %+v", c)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"trust_domain"`, `"not_after"`, `"loaded_at"`, `"ca_subjects"`, `"next_update"`, `"revoked":1`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("status JSON lacks %s: %s", key, b)
		}
	}
	if s.Current("spiffe://example.org/nobody") != nil {
		t.Fatal("Current of an unknown ID is not nil")
	}
}
