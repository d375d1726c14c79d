package identitytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is an in-memory certificate authority. Its methods are safe for
// concurrent use.
type CA struct {
	Cert        *x509.Certificate
	Key         crypto.Signer
	TrustDomain string
	parent      *CA // nil for a root
	crlNumber   atomic.Int64
}

// Leaf is an issued certificate with its key. CertPEM holds the leaf followed
// by any intermediates between it and the root; TLS.Certificate likewise.
type Leaf struct {
	Cert            *x509.Certificate
	Key             crypto.Signer
	CertPEM, KeyPEM []byte
	TLS             tls.Certificate
}

// nextSerial returns a random positive 127-bit serial.
func nextSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("identitytest: crypto/rand failed: " + err.Error())
	}
	return n.Add(n, big.NewInt(1))
}

// NewCA returns a new ECDSA P-256 root for trustDomain, valid from one hour
// ago for ten years, with URI SAN spiffe://trustDomain.
func NewCA(tb testing.TB, trustDomain string) *CA {
	tb.Helper()
	return newCA(tb, trustDomain, nil)
}

func newCA(tb testing.TB, trustDomain string, parent *CA) *CA {
	tb.Helper()
	key := newKey(tb)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{Organization: []string{"ztunnel test"}, CommonName: trustDomain + " test CA " + nextSerial().Text(16)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: trustDomain}},
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		tb.Fatalf("identitytest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("identitytest: parse CA: %v", err)
	}
	return &CA{Cert: cert, Key: key, TrustDomain: trustDomain, parent: parent}
}

// Intermediate returns a new intermediate CA signed by ca, in ca's trust
// domain. Leaves it issues carry it in their chain.
func (ca *CA) Intermediate(tb testing.TB) *CA {
	tb.Helper()
	return newCA(tb, ca.TrustDomain, ca)
}

// CertPEM returns the CA certificate as PEM.
func (ca *CA) CertPEM() []byte { return certPEM(ca.Cert) }

// WriteBundle writes the CA certificate as DIR/bundle.pem and returns its
// path. Use BundlePEM to build a bundle of several CAs.
func (ca *CA) WriteBundle(tb testing.TB, dir string) string {
	tb.Helper()
	return WriteFile(tb, dir, "bundle.pem", ca.CertPEM())
}

// BundlePEM concatenates the certificates of cas, for a bundle file.
func BundlePEM(cas ...*CA) []byte {
	var out []byte
	for _, ca := range cas {
		out = append(out, ca.CertPEM()...)
	}
	return out
}

// Option changes how Issue makes a leaf.
type Option func(*x509.Certificate)

// WithURIs replaces the URI SANs by uris (parsed leniently, so that invalid
// SPIFFE IDs can be issued on purpose).
func WithURIs(uris ...string) Option {
	return func(c *x509.Certificate) {
		c.URIs = nil
		for _, s := range uris {
			u, err := url.Parse(s)
			if err != nil {
				u = &url.URL{Opaque: s}
			}
			c.URIs = append(c.URIs, u)
		}
	}
}

// WithNoURI removes every URI SAN.
func WithNoURI() Option { return func(c *x509.Certificate) { c.URIs = nil } }

// WithIsCA marks the leaf as a CA (basic constraints cA=true).
func WithIsCA() Option {
	return func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }
}

// WithKeyUsage sets the key usage; 0 omits the extension.
func WithKeyUsage(ku x509.KeyUsage) Option { return func(c *x509.Certificate) { c.KeyUsage = ku } }

// WithEKU sets the extended key usages; none omits the extension.
func WithEKU(eku ...x509.ExtKeyUsage) Option {
	return func(c *x509.Certificate) { c.ExtKeyUsage = eku }
}

// WithValidity sets NotBefore and NotAfter.
func WithValidity(nb, na time.Time) Option {
	return func(c *x509.Certificate) { c.NotBefore, c.NotAfter = nb, na }
}

// WithSerial sets the serial number.
func WithSerial(serial int64) Option {
	return func(c *x509.Certificate) { c.SerialNumber = big.NewInt(serial) }
}

// WithDNSNames adds DNS SANs.
func WithDNSNames(names ...string) Option {
	return func(c *x509.Certificate) { c.DNSNames = names }
}

// Issue issues an X509-SVID for id: ECDSA P-256, valid from one hour ago
// for 24 hours, key usage digitalSignature, EKU serverAuth+clientAuth. Options
// break rules on purpose.
func (ca *CA) Issue(tb testing.TB, id string, opts ...Option) *Leaf {
	tb.Helper()
	return ca.IssueWithKey(tb, newKey(tb), id, opts...)
}

// IssueWithKey is Issue with a given key (to re-issue for the same pin).
func (ca *CA) IssueWithKey(tb testing.TB, key crypto.Signer, id string, opts ...Option) *Leaf {
	tb.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	if id != "" {
		WithURIs(id)(tmpl)
	}
	for _, o := range opts {
		o(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		tb.Fatalf("identitytest: issue %q: %v", id, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("identitytest: parse leaf: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("identitytest: marshal key: %v", err)
	}
	l := &Leaf{Cert: cert, Key: key, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})}
	l.CertPEM = certPEM(cert)
	l.TLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
	for p := ca; p.parent != nil; p = p.parent {
		l.CertPEM = append(l.CertPEM, certPEM(p.Cert)...)
		l.TLS.Certificate = append(l.TLS.Certificate, p.Cert.Raw)
	}
	return l
}

// WriteFiles writes DIR/NAME.crt (leaf and intermediates) and DIR/NAME.key
// (mode 0600) and returns their paths.
func (l *Leaf) WriteFiles(tb testing.TB, dir, name string) (certPath, keyPath string) {
	tb.Helper()
	certPath = WriteFile(tb, dir, name+".crt", l.CertPEM)
	keyPath = WriteFile(tb, dir, name+".key", l.KeyPEM)
	return certPath, keyPath
}

// CRL returns a PEM CRL signed by ca that revokes the given certificates,
// valid from one hour ago for 24 hours.
func (ca *CA) CRL(tb testing.TB, revoked ...*x509.Certificate) []byte {
	tb.Helper()
	now := time.Now()
	return ca.CRLAt(tb, now.Add(-time.Hour), now.Add(24*time.Hour), revoked...)
}

// CRLAt is CRL with explicit ThisUpdate and NextUpdate (for stale CRLs).
func (ca *CA) CRLAt(tb testing.TB, thisUpdate, nextUpdate time.Time, revoked ...*x509.Certificate) []byte {
	tb.Helper()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(ca.crlNumber.Add(1)),
		ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate,
	}
	for _, c := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: c.SerialNumber, RevocationTime: thisUpdate,
		})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		tb.Fatalf("identitytest: create CRL: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// WriteFile writes data to DIR/NAME with mode 0600 and returns the path.
func WriteFile(tb testing.TB, dir, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		tb.Fatalf("identitytest: %v", err)
	}
	return p
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("identitytest: generate key: %v", err)
	}
	return key
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
