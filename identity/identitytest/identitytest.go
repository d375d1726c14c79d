// Package identitytest is an in-memory test CA for tests of every package.
package identitytest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// CA is an in-memory certificate authority.
type CA struct{}

// Leaf is an issued workload certificate.
type Leaf struct {
	Cert            *x509.Certificate
	CertPEM, KeyPEM []byte
	TLS             tls.Certificate
}

// Option changes how a leaf is issued.
type Option func(*template)

type template struct{}

// NewCA returns a new ECDSA P-256 root.
func NewCA(tb testing.TB, trustDomain string) *CA {
	tb.Helper()
	tb.Fatal("identitytest: not implemented")
	return nil
}

// Issue issues a leaf for id.
func (ca *CA) Issue(tb testing.TB, id string, opts ...Option) *Leaf { return nil }

// Intermediate returns an intermediate CA signed by ca.
func (ca *CA) Intermediate(tb testing.TB) *CA { return nil }

// CertPEM returns the CA certificate as PEM.
func (ca *CA) CertPEM() []byte { return nil }

// WriteFiles writes the leaf's cert and key.
func (l *Leaf) WriteFiles(tb testing.TB, dir, name string) (certPath, keyPath string) { return "", "" }

// WriteBundle writes the CA certificate as a bundle file.
func (ca *CA) WriteBundle(tb testing.TB, dir string) string { return "" }

// CRL returns a PEM CRL revoking the given certificates.
func (ca *CA) CRL(tb testing.TB, revoked ...*x509.Certificate) []byte { return nil }

// WithURIs sets the URI SANs.
func WithURIs(uris ...string) Option { return func(*template) {} }

// WithNoURI removes every URI SAN.
func WithNoURI() Option { return func(*template) {} }

// WithIsCA marks the leaf as a CA.
func WithIsCA() Option { return func(*template) {} }

// WithKeyUsage sets the key usage.
func WithKeyUsage(ku x509.KeyUsage) Option { return func(*template) {} }

// WithEKU sets the extended key usages.
func WithEKU(eku ...x509.ExtKeyUsage) Option { return func(*template) {} }

// WithValidity sets NotBefore and NotAfter.
func WithValidity(nb, na time.Time) Option { return func(*template) {} }

// WithSerial sets the serial number.
func WithSerial(serial int64) Option { return func(*template) {} }
