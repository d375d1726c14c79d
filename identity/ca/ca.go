package ca

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Default lifetimes.
const (
	DefaultCATTL   = 87600 * time.Hour // ten years
	DefaultLeafTTL = 24 * time.Hour
)

// ErrExists is returned by Init when the directory already holds a CA.
var ErrExists = errors.New("ca: a CA already exists")

// authority is a loaded CA directory.
type authority struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	td   string
}

// Init writes DIR/ca.crt, DIR/ca.key (0600) and DIR/ca.crl (empty, signed)
// for a new root: ECDSA P-256, URI SAN spiffe://TD, cA=true with
// keyCertSign and cRLSign, path length 0 (it issues leaves only), valid for
// ttl (0 = DefaultCATTL). It creates DIR (0700) if needed and refuses to
// overwrite an existing CA.
func Init(dir, trustDomain string, ttl time.Duration) error {
	if _, err := identity.ParseID("spiffe://" + trustDomain); err != nil || trustDomain == "" || strings.Contains(trustDomain, "/") {
		return fmt.Errorf("ca: %q is not a valid trust domain name (lowercase letters, digits, '.', '-', '_')", trustDomain)
	}
	if ttl < 0 {
		return fmt.Errorf("ca: CA lifetime %s is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultCATTL
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ca: create directory %q: %w", dir, unwrapPath(err))
	}
	for _, name := range []string{CertFile, KeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%w in %q (%s is there); refusing to overwrite it", ErrExists, dir, name)
		}
	}
	key, err := newKey()
	if err != nil {
		return fmt.Errorf("ca: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"ztunnel"}, CommonName: "ztunnel CA " + trustDomain},
		NotBefore:             now.Add(-5 * time.Minute), // tolerate small clock skew
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		URIs:                  []*url.URL{{Scheme: "spiffe", Host: trustDomain}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return fmt.Errorf("ca: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("ca: parse CA certificate: %w", err)
	}
	kp, err := keyPEM(key)
	if err != nil {
		return fmt.Errorf("ca: encode key: %w", err)
	}
	a := &authority{dir: dir, cert: cert, key: key, td: trustDomain}
	// Key first: a crash in between leaves no certificate without its key.
	if err := writeFileAtomic(filepath.Join(dir, KeyFile), kp, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, CertFile), certPEM(der), 0o644); err != nil {
		return err
	}
	return a.writeCRL(big.NewInt(1), nil)
}

// load reads and checks a CA directory.
func load(dir string) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ca: %q holds no CA (no %s); run `ztunnel ca init` first", dir, CertFile)
	}
	cert, _, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("ca: CA key %q cannot be read: %w", keyPath, unwrapPath(err))
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("ca: CA key %q is not PEM", keyPath)
	}
	var k any
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("ca: CA key %q holds a %q PEM block, not an EC private key", keyPath, b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("ca: CA key %q cannot be parsed: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ca: CA key %q is not an ECDSA key", keyPath)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("ca: CA key %q does not match %q", keyPath, certPath)
	}
	if !cert.IsCA || len(cert.URIs) != 1 || cert.URIs[0].Scheme != "spiffe" || cert.URIs[0].Host == "" {
		return nil, fmt.Errorf("ca: %q is not a ztunnel CA certificate (cA=true with URI SAN spiffe://<trust domain>)", certPath)
	}
	return &authority{dir: dir, cert: cert, key: key, td: cert.URIs[0].Host}, nil
}
