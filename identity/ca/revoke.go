package ca

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Revoke adds a certificate, given by file or by serial (hex, optionally
// with 0x or colons), to DIR/ca.crl and re-signs it with the next CRL
// number. The file is replaced atomically. Revoking an already revoked
// serial succeeds without change. A certificate file must have been issued
// by this CA.
func Revoke(caDir, certFile, serial string) error {
	if (certFile == "") == (serial == "") {
		return fmt.Errorf("ca: revoke needs exactly one of a certificate file or a serial")
	}
	a, err := load(caDir)
	if err != nil {
		return err
	}
	var sn *big.Int
	if certFile != "" {
		c, _, err := readCert(certFile)
		if err != nil {
			return err
		}
		if err := c.CheckSignatureFrom(a.cert); err != nil {
			return fmt.Errorf("ca: certificate file %q was not issued by the CA in %q", certFile, caDir)
		}
		sn = c.SerialNumber
	} else {
		s := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(serial), "0x"), ":", "")
		var ok bool
		if sn, ok = new(big.Int).SetString(s, 16); !ok || sn.Sign() <= 0 {
			return fmt.Errorf("ca: serial %q is not a positive hexadecimal number", serial)
		}
	}
	list, err := a.readCRL()
	if err != nil {
		return err
	}
	entries := list.RevokedCertificateEntries
	for _, e := range entries {
		if e.SerialNumber.Cmp(sn) == 0 {
			return nil
		}
	}
	entries = append(entries, x509.RevocationListEntry{SerialNumber: sn, RevocationTime: time.Now()})
	number := big.NewInt(1)
	if list.Number != nil {
		number.Add(list.Number, big.NewInt(1))
	}
	return a.writeCRL(number, entries)
}

// readCRL reads DIR/ca.crl and checks its signature.
func (a *authority) readCRL() (*x509.RevocationList, error) {
	p := filepath.Join(a.dir, CRLFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("ca: CRL %q cannot be read: %w", p, unwrapPath(err))
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		der = b.Bytes
	}
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("ca: CRL %q cannot be parsed: %w", p, err)
	}
	if err := list.CheckSignatureFrom(a.cert); err != nil {
		return nil, fmt.Errorf("ca: CRL %q is not signed by the CA in %q", p, a.dir)
	}
	return list, nil
}

// writeCRL signs and atomically writes DIR/ca.crl. NextUpdate is the CA's
// NotAfter: the CRL is a local file re-signed on every revocation, with no
// refresh job, so an earlier NextUpdate would make agents in fail_closed
// mode refuse every peer once it passed.
func (a *authority) writeCRL(number *big.Int, entries []x509.RevocationListEntry) error {
	tmpl := &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                time.Now().Add(-5 * time.Minute),
		NextUpdate:                a.cert.NotAfter,
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, a.cert, a.key)
	if err != nil {
		return fmt.Errorf("ca: sign CRL: %w", err)
	}
	return writeFileAtomic(filepath.Join(a.dir, CRLFile), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644)
}
