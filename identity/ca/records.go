package ca

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// This file holds what the CA server adds to the CA directory's records:
// signing an X509-SVID for a public key the CA never saw the private half of,
// reading back the issued-serial log, and checking a serial against the CRL.

// Record is one line of DIR/issued.log: a certificate the CA issued.
type Record struct {
	IssuedAt time.Time
	Serial   string // lowercase hex
	ID       string
	NotAfter time.Time
}

// Records reads DIR/issued.log. A missing log is an empty list; a line that
// does not parse is skipped (the log is an audit trail, not a database).
func Records(caDir string) ([]Record, error) {
	p := filepath.Join(caDir, IssuedFile)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ca: issued-serial log %q cannot be read: %w", p, unwrapPath(err))
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, ok := parseRecord(sc.Text()); ok {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ca: issued-serial log %q cannot be read: %w", p, err)
	}
	return out, nil
}

func parseRecord(line string) (Record, bool) {
	f := strings.Split(line, "\t")
	if len(f) != 4 {
		return Record{}, false
	}
	at, err1 := time.Parse(time.RFC3339, f[0])
	na, err2 := time.Parse(time.RFC3339, f[3])
	if err1 != nil || err2 != nil || f[1] == "" {
		return Record{}, false
	}
	return Record{IssuedAt: at, Serial: f[1], ID: f[2], NotAfter: na}, true
}

// signSVID signs an X509-SVID for pub and id with the same profile as Issue
// (one URI SAN, critical key usage digitalSignature, EKU serverAuth and
// clientAuth, NotBefore 5 minutes back for clock skew, NotAfter capped by the
// CA's) and appends its serial to DIR/issued.log. pub must be ECDSA P-256.
func (a *authority) signSVID(pub *ecdsa.PublicKey, id spiffeid.ID, ttl time.Duration, now time.Time) (*x509.Certificate, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ca: the public key is not ECDSA P-256")
	}
	if id.TrustDomain().Name() != a.td {
		return nil, fmt.Errorf("ca: ID %q is not in the CA's trust domain %q", id.String(), a.td)
	}
	if !now.Before(a.cert.NotAfter) {
		return nil, fmt.Errorf("ca: the CA in %q expired at %s", a.dir, a.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	notAfter := now.Add(ttl)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(id.String())
	if err != nil {
		return nil, fmt.Errorf("ca: ID %q: %w", id.String(), err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{u},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, fmt.Errorf("ca: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse signed certificate: %w", err)
	}
	if err := a.record(serial.Text(16), id.String(), now, notAfter); err != nil {
		return nil, err
	}
	return cert, nil
}

// revoked reports whether serial is on the CA's current CRL (re-read from
// DIR/ca.crl, so a `ztunnel cert revoke` run by another process counts at
// once).
func (a *authority) revoked(serial *big.Int) (bool, error) {
	list, err := a.readCRL()
	if err != nil {
		return false, err
	}
	for _, e := range list.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(serial) == 0 {
			return true, nil
		}
	}
	return false, nil
}
