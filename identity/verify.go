package identity

import (
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// peerCheck is what a handshake requires of the peer beyond the common
// rules (chain, SVID, time, trust domain, revocation).
type peerCheck struct {
	wantID string   // exact SPIFFE ID required; "" = any in our trust domain
	pins   []string // when non-empty, the leaf's pin must be one of them
}

// verifyPeer checks a peer chain as sent (leaf first) against the current
// trust snapshot at s.now(). Every failure is a *RejectError.
func (s *Store) verifyPeer(certs []*x509.Certificate, pc peerCheck) (spiffeid.ID, error) {
	if len(certs) == 0 {
		return spiffeid.ID{}, reject(ReasonNoCertificate, "the peer presented no certificate")
	}
	leaf := certs[0]
	id, err := CheckSVID(leaf)
	if err != nil {
		return spiffeid.ID{}, err
	}
	now := s.now()
	if rej := checkValidity(leaf, now); rej != nil {
		return spiffeid.ID{}, rej
	}
	trust := s.trust.Load()
	chains, rej := verifyChain(leaf, certs[1:], trust.bundle, now)
	if rej != nil {
		return spiffeid.ID{}, rej
	}
	if id.TrustDomain() != s.td {
		return spiffeid.ID{}, reject(ReasonForeignTrustDomain, "peer %s is in trust domain %q, not %q", quote(id.String()), id.TrustDomain().Name(), s.td.Name())
	}
	if pc.wantID != "" && id.String() != pc.wantID {
		return spiffeid.ID{}, reject(ReasonWrongID, "peer is %s, but %s was expected", quote(id.String()), quote(pc.wantID))
	}
	if len(pc.pins) > 0 && !slices.Contains(pc.pins, Pin(leaf)) {
		return spiffeid.ID{}, reject(ReasonPinMismatch, "peer %s has key pin %s, which is not among the configured pins", quote(id.String()), Pin(leaf))
	}
	if rej := s.checkRevocation(trust, chains[0], now, id); rej != nil {
		return spiffeid.ID{}, rej
	}
	return id, nil
}

func checkValidity(c *x509.Certificate, now time.Time) *RejectError {
	switch {
	case now.Before(c.NotBefore):
		return reject(ReasonNotYetValid, "certificate %s is not valid before %s", subjectOf(c), c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return reject(ReasonExpired, "certificate %s expired at %s", subjectOf(c), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyChain builds the chains from leaf to a CA of the bundle through the
// given intermediates, at now.
func verifyChain(leaf *x509.Certificate, intermediates []*x509.Certificate, bundle *bundleState, now time.Time) ([][]*x509.Certificate, *RejectError) {
	if bundle == nil {
		return nil, reject(ReasonUnknownIssuer, "no trust bundle is loaded")
	}
	opts := x509.VerifyOptions{
		Roots:       bundle.pool,
		CurrentTime: now,
		// SPIFFE leaves may lack EKU; CheckSVID enforced the EKU rule.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if len(intermediates) > 0 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range intermediates {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := leaf.Verify(opts)
	if err == nil {
		return chains, nil
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		// The leaf's own time was checked already: a CA of the chain is
		// outside its validity.
		if now.Before(inv.Cert.NotBefore) {
			return nil, reject(ReasonNotYetValid, "CA %q of the chain of %s is not valid yet", inv.Cert.Subject.String(), subjectOf(leaf))
		}
		return nil, reject(ReasonExpired, "CA %q of the chain of %s has expired", inv.Cert.Subject.String(), subjectOf(leaf))
	}
	var unk x509.UnknownAuthorityError
	if errors.As(err, &unk) {
		return nil, reject(ReasonUnknownIssuer, "certificate %s is not signed by a CA of the trust bundle (issuer %q)", subjectOf(leaf), leaf.Issuer.String())
	}
	return nil, reject(ReasonUnknownIssuer, "certificate %s does not chain to the trust bundle: %s", subjectOf(leaf), strings.TrimPrefix(err.Error(), "x509: "))
}

// checkRevocation applies the CRLs and the revocation mode to a verified
// chain.
func (s *Store) checkRevocation(trust *trustState, chain []*x509.Certificate, now time.Time, id spiffeid.ID) *RejectError {
	rej, problems := trust.checkRevocation(chain, now)
	if rej != nil {
		return rej
	}
	if len(problems) == 0 {
		return nil
	}
	if !s.failOpen {
		return reject(ReasonRevocationUnknown, "revocation of %s cannot be checked: %s", quote(id.String()), problems[0].detail)
	}
	s.unknownAccepts.Add(1)
	// Warn at most once a minute: a stale CRL would otherwise log on every
	// handshake until someone fixes it; the count is in
	// StoreStatus.RevocationUnknownAccepts (and the agent's metrics).
	last := s.revocationWarnedAt.Load()
	if nowNano := now.UnixNano(); nowNano-last >= int64(time.Minute) && s.revocationWarnedAt.CompareAndSwap(last, nowNano) {
		for _, p := range problems {
			s.log.Warn("revocation status unknown, accepting peer (revocation = fail_open)", "peer", id.String(), "problem", p.detail)
		}
	}
	return nil
}
