package identitytest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
)

func TestIssueChainsAndLoads(t *testing.T) {
	root := NewCA(t, "example.org")
	inter := root.Intermediate(t)
	tests := []struct {
		name  string
		ca    *CA
		certs int
	}{
		{name: "from root", ca: root, certs: 1},
		{name: "from intermediate", ca: inter, certs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.ca.Issue(t, "spiffe://example.org/w")
			if len(l.TLS.Certificate) != tt.certs {
				t.Fatalf("chain of %d, want %d", len(l.TLS.Certificate), tt.certs)
			}
			roots := x509.NewCertPool()
			roots.AddCert(root.Cert)
			inters := x509.NewCertPool()
			inters.AddCert(inter.Cert)
			if _, err := l.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Fatalf("leaf does not verify: %v", err)
			}
			crt, key := l.WriteFiles(t, t.TempDir(), "w")
			if _, err := tls.LoadX509KeyPair(crt, key); err != nil {
				t.Fatalf("written pair does not load: %v", err)
			}
			if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %v, %v", st.Mode(), err)
			}
		})
	}
}

func TestCRL(t *testing.T) {
	ca := NewCA(t, "example.org")
	l := ca.Issue(t, "spiffe://example.org/w", WithSerial(42))
	b, _ := pem.Decode(ca.CRL(t, l.Cert))
	list, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := list.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if len(list.RevokedCertificateEntries) != 1 || list.RevokedCertificateEntries[0].SerialNumber.Int64() != 42 {
		t.Fatalf("revoked entries %+v", list.RevokedCertificateEntries)
	}
}
