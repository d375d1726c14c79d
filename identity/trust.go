package identity

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// bundleState is one successfully loaded trust bundle. Immutable.
type bundleState struct {
	certs    []*x509.Certificate
	pool     *x509.CertPool
	digest   [sha256.Size]byte
	loadedAt time.Time
}

func loadBundle(path string, now time.Time) (*bundleState, error) {
	data, err := readFile("bundle file", path)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertsPEM("bundle file", path, data)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for i, c := range certs {
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("identity: bundle file %q: certificate %d (%s) is not a CA certificate", path, i+1, certName(c))
		}
		pool.AddCert(c)
	}
	return &bundleState{certs: certs, pool: pool, digest: sha256.Sum256(data), loadedAt: now}, nil
}

// crlState is one successfully loaded CRL whose signature was checked
// against a CA of the bundle it was loaded with. Immutable.
type crlState struct {
	list     *x509.RevocationList
	issuer   *x509.Certificate // the bundle CA that signed it
	revoked  map[string]struct{}
	digest   [sha256.Size]byte
	loadedAt time.Time
}

func loadCRL(path string, bundle *bundleState, now time.Time) (*crlState, error) {
	data, err := readFile("CRL file", path)
	if err != nil {
		return nil, err
	}
	der := data
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		blocks, err := pemBlocks("CRL file", path, data)
		if err != nil {
			return nil, err
		}
		if len(blocks) != 1 || blocks[0].Type != "X509 CRL" {
			return nil, fmt.Errorf("identity: CRL file %q must hold exactly one X509 CRL PEM block", path)
		}
		der = blocks[0].Bytes
	}
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("identity: CRL file %q is neither a PEM nor a DER CRL: %w", path, err)
	}
	if bundle == nil {
		return nil, fmt.Errorf("identity: CRL file %q cannot be checked without a trust bundle", path)
	}
	var issuer *x509.Certificate
	for _, ca := range bundle.certs {
		if bytes.Equal(ca.RawSubject, list.RawIssuer) && list.CheckSignatureFrom(ca) == nil {
			issuer = ca
			break
		}
	}
	if issuer == nil {
		return nil, fmt.Errorf("identity: CRL file %q is not signed by any CA of the trust bundle", path)
	}
	st := &crlState{list: list, issuer: issuer, revoked: make(map[string]struct{}, len(list.RevokedCertificateEntries)), digest: sha256.Sum256(data), loadedAt: now}
	for _, e := range list.RevokedCertificateEntries {
		st.revoked[serialKey(e.SerialNumber)] = struct{}{}
	}
	return st, nil
}

func serialKey(n *big.Int) string {
	if n == nil {
		return ""
	}
	return n.Text(16)
}

// stale reports whether the CRL is past its NextUpdate at now. A CRL
// without NextUpdate never goes stale.
func (c *crlState) stale(now time.Time) bool {
	return !c.list.NextUpdate.IsZero() && now.After(c.list.NextUpdate)
}

// trustState is the snapshot read by every handshake: the bundle and the
// CRLs that loaded. Immutable; replaced whole by Reload.
type trustState struct {
	bundle *bundleState
	crls   []*crlState
	// missingCRLs counts CRL files that never loaded (possible only with
	// fail_open): revocation is unknown for every issuer.
	missingCRLs int
}

func sameCA(a, b *x509.Certificate) bool {
	return bytes.Equal(a.RawSubject, b.RawSubject) && bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}

// revocationProblem is a CRL that cannot vouch for a chain at now.
type revocationProblem struct {
	issuer string
	detail string
}

// checkRevocation checks every certificate of a verified chain (leaf first,
// root last) against the CRLs of its issuer. A revoked serial is always
// refused. A stale CRL is returned as a problem for the caller to refuse
// (fail_closed) or log (fail_open).
func (t *trustState) checkRevocation(chain []*x509.Certificate, now time.Time) (*RejectError, []revocationProblem) {
	var problems []revocationProblem
	for i := 0; i+1 < len(chain); i++ {
		cert, parent := chain[i], chain[i+1]
		for _, c := range t.crls {
			if !sameCA(c.issuer, parent) {
				continue
			}
			if _, ok := c.revoked[serialKey(cert.SerialNumber)]; ok {
				if i > 0 {
					return reject(ReasonRevoked, "intermediate CA %q (serial %s) in the chain of %s is revoked by its issuer's CRL", cert.Subject.String(), serialHex(cert), subjectOf(chain[0])), nil
				}
				return reject(ReasonRevoked, "certificate %s (serial %s) is revoked by its issuer's CRL", subjectOf(cert), serialHex(cert)), nil
			}
			if c.stale(now) {
				problems = append(problems, revocationProblem{
					issuer: parent.Subject.String(),
					detail: fmt.Sprintf("the CRL of issuer %q is stale since %s", parent.Subject.String(), c.list.NextUpdate.UTC().Format(time.RFC3339)),
				})
			}
		}
	}
	if t.missingCRLs > 0 {
		problems = append(problems, revocationProblem{detail: fmt.Sprintf("%d CRL file(s) could not be loaded", t.missingCRLs)})
	}
	return nil, problems
}

// caSubjects lists the subjects of the bundle's CAs for status.
func (b *bundleState) caSubjects() []string {
	out := make([]string, 0, len(b.certs))
	for _, c := range b.certs {
		out = append(out, c.Subject.String())
	}
	return out
}

// certName names a certificate by its subject, else by URI SAN or serial.
func certName(c *x509.Certificate) string {
	if len(c.RawSubject) > 2 { // more than an empty SEQUENCE
		return fmt.Sprintf("%q", c.Subject.String())
	}
	return subjectOf(c)
}
