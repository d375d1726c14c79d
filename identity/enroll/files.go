package enroll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// pair is a certificate with its key, as stored or as just issued.
type pair struct {
	tls   *tls.Certificate
	leaf  *x509.Certificate
	key   *ecdsa.PrivateKey
	start time.Time // when we got it (renewal is timed from here)
}

func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enroll: generate key: %w", err)
	}
	return k, nil
}

// newCSR makes a CSR for key naming id (the server ignores the name; it is
// there for operators reading the request).
func newCSR(key *ecdsa.PrivateKey, id string) (string, error) {
	tmpl := &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}
	if u, err := identity.ParseWorkloadID(id); err == nil {
		tmpl.URIs = append(tmpl.URIs, u.URL())
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return "", fmt.Errorf("enroll: create CSR: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// loadBundle reads the trust bundle (read per use: the bundle file may be
// rotated while the agent runs).
func loadBundle(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("enroll: trust bundle %q cannot be read: %w", path, unwrapPath(err))
	}
	certs, err := parseCerts(data)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("enroll: trust bundle %q holds no valid PEM certificate", path)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// checkLeaf checks that certs is an X509-SVID for id chaining to roots at
// now; the error is one sentence naming what is wrong.
func checkLeaf(certs []*x509.Certificate, id string, roots *x509.CertPool, now time.Time) error {
	if len(certs) == 0 {
		return errors.New("it holds no certificate")
	}
	leaf := certs[0]
	got, err := identity.CheckSVID(leaf)
	if err != nil {
		return errors.New(trimPrefix(err))
	}
	if got.String() != id {
		return fmt.Errorf("it is for %q, not %q", got.String(), id)
	}
	if now.After(leaf.NotAfter) {
		return fmt.Errorf("it expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("it does not chain to the trust bundle: %s", strings.TrimPrefix(err.Error(), "x509: "))
	}
	return nil
}

// loadPair reads the stored certificate and key and checks them for id.
func loadPair(cfg Config, roots *x509.CertPool, now time.Time) (*pair, error) {
	certPEM, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return nil, fmt.Errorf("enroll: certificate file %q cannot be read: %w", cfg.CertFile, unwrapPath(err))
	}
	keyPEM, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("enroll: key file %q cannot be read: %w", cfg.KeyFile, unwrapPath(err))
	}
	tc, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("enroll: certificate file %q and key file %q are not a valid pair: %s", cfg.CertFile, cfg.KeyFile, strings.TrimPrefix(err.Error(), "tls: "))
	}
	key, ok := tc.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("enroll: key file %q does not hold an ECDSA key", cfg.KeyFile)
	}
	certs := make([]*x509.Certificate, 0, len(tc.Certificate))
	for _, der := range tc.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("enroll: certificate file %q cannot be parsed: %w", cfg.CertFile, err)
		}
		certs = append(certs, c)
	}
	if err := checkLeaf(certs, cfg.ID, roots, now); err != nil {
		return nil, fmt.Errorf("enroll: certificate file %q cannot be used: %w", cfg.CertFile, err)
	}
	tc.Leaf = certs[0]
	// Renewal is timed from when the certificate was obtained: the CA
	// back-dates NotBefore for clock skew, which would otherwise pull the
	// half-life earlier. The file's mtime is when it was stored.
	start := certs[0].NotBefore
	if fi, err := os.Stat(cfg.CertFile); err == nil && fi.ModTime().After(start) && !fi.ModTime().After(now) {
		start = fi.ModTime()
	}
	return &pair{tls: &tc, leaf: certs[0], key: key, start: start}, nil
}

// storePair writes the key, then the certificate, each to a temporary file
// in its directory (0600, synced) renamed over the target, so a reader never
// sees half a file. Between the two renames a reader sees the new key with
// the old certificate: identity.Store refuses such a mismatched pair, keeps
// the old one and loads the new pair on the certificate's change (and
// Config.OnUpdate triggers that reload at once).
func storePair(cfg Config, key *ecdsa.PrivateKey, chainPEM []byte) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("enroll: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, f := range []struct {
		path string
		data []byte
	}{{cfg.KeyFile, keyPEM}, {cfg.CertFile, chainPEM}} {
		if err := writeFileAtomic(f.path, f.data); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("enroll: create directory %q: %w", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("enroll: write %q: %w", path, unwrapPath(err))
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("enroll: write %q: %w", path, unwrapPath(err))
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// trimPrefix drops the package prefix of another package's error sentence.
func trimPrefix(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 && !strings.ContainsAny(s[:i], " \"") {
		return s[i+2:]
	}
	return s
}
