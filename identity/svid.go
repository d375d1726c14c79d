package identity

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// PinPrefix starts every SPKI pin.
const PinPrefix = "sha256/"

// Pin is PinPrefix + standard base64 of SHA-256 of the certificate's
// SubjectPublicKeyInfo. A pin survives re-issuing with the same key.
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return PinPrefix + base64.StdEncoding.EncodeToString(sum[:])
}

// RuleResult is the outcome of one static X509-SVID rule on a leaf.
type RuleResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Reason Reason `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// CheckSVID checks the static X509-SVID rules of a leaf (no chain, no
// time): exactly one URI SAN, scheme spiffe, valid ID, non-root path, not a
// CA, key usage present with digitalSignature and without keyCertSign and
// cRLSign, EKU (when present) with both serverAuth and clientAuth. It
// returns the ID, or the first broken rule as a *RejectError.
func CheckSVID(leaf *x509.Certificate) (spiffeid.ID, error) {
	id, results := checkRules(leaf)
	for _, r := range results {
		if !r.Passed {
			return spiffeid.ID{}, &RejectError{Reason: r.Reason, Detail: r.Detail}
		}
	}
	return id, nil
}

// CheckSVIDRules runs every static X509-SVID rule on leaf and reports each
// one, in the order CheckSVID applies them (for `ztunnel cert inspect`).
func CheckSVIDRules(leaf *x509.Certificate) []RuleResult {
	_, results := checkRules(leaf)
	return results
}

func checkRules(leaf *x509.Certificate) (spiffeid.ID, []RuleResult) {
	if leaf == nil {
		return spiffeid.ID{}, []RuleResult{{Name: "certificate present", Reason: ReasonNoCertificate, Detail: "no certificate was presented"}}
	}
	var out []RuleResult
	add := func(name string, err *RejectError) {
		r := RuleResult{Name: name, Passed: err == nil}
		if err != nil {
			r.Reason, r.Detail = err.Reason, err.Detail
		}
		out = append(out, r)
	}
	id, idErrs := checkURI(leaf)
	add("exactly one URI SAN", idErrs[0])
	add("URI scheme is spiffe", idErrs[1])
	add("valid SPIFFE ID", idErrs[2])
	add("non-root path", idErrs[3])

	var e *RejectError
	if leaf.IsCA {
		e = reject(ReasonIsCA, "certificate %s is a CA certificate (cA=true), not a leaf", subjectOf(leaf))
	}
	add("not a CA", e)

	ku := leaf.KeyUsage
	e = nil
	if ku == 0 {
		e = reject(ReasonNoKeyUsage, "certificate %s has no key usage", subjectOf(leaf))
	}
	add("key usage present", e)
	e = nil
	if ku&x509.KeyUsageDigitalSignature == 0 {
		e = reject(ReasonNoDigitalSignature, "certificate %s lacks key usage digitalSignature", subjectOf(leaf))
	}
	add("key usage digitalSignature", e)
	e = nil
	if ku&x509.KeyUsageCertSign != 0 {
		e = reject(ReasonKeyCertSign, "certificate %s has key usage keyCertSign, which a leaf must not have", subjectOf(leaf))
	}
	add("no key usage keyCertSign", e)
	e = nil
	if ku&x509.KeyUsageCRLSign != 0 {
		e = reject(ReasonCRLSign, "certificate %s has key usage cRLSign, which a leaf must not have", subjectOf(leaf))
	}
	add("no key usage cRLSign", e)

	e = nil
	if len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0 {
		var server, client bool
		for _, u := range leaf.ExtKeyUsage {
			server = server || u == x509.ExtKeyUsageServerAuth
			client = client || u == x509.ExtKeyUsageClientAuth
		}
		if !server || !client {
			e = reject(ReasonBadEKU, "certificate %s has an extended key usage without both serverAuth and clientAuth", subjectOf(leaf))
		}
	}
	add("extended key usage serverAuth and clientAuth", e)
	return id, out
}

// checkURI returns the ID and the outcome of the four URI rules: count,
// scheme, syntax, path. A rule that cannot be checked because an earlier one
// failed repeats the earlier failure.
func checkURI(leaf *x509.Certificate) (spiffeid.ID, [4]*RejectError) {
	var errs [4]*RejectError
	fill := func(from int, e *RejectError) {
		for i := from; i < len(errs); i++ {
			errs[i] = e
		}
	}
	switch n := len(leaf.URIs); {
	case n == 0:
		fill(0, reject(ReasonNoURISAN, "certificate %s has no URI SAN", subjectOf(leaf)))
		return spiffeid.ID{}, errs
	case n > 1:
		fill(0, reject(ReasonMultipleURISANs, "certificate %s has %d URI SANs; an X509-SVID has exactly one", subjectOf(leaf), n))
		return spiffeid.ID{}, errs
	}
	u := leaf.URIs[0]
	if u.Scheme != "spiffe" {
		fill(1, reject(ReasonNotSPIFFE, "certificate %s has URI SAN %s, which is not a spiffe:// URI", subjectOf(leaf), quote(u.String())))
		return spiffeid.ID{}, errs
	}
	id, err := ParseID(u.String())
	if err != nil {
		fill(2, reject(ReasonBadID, "certificate %s has URI SAN %s: %s", subjectOf(leaf), quote(u.String()), err.(*RejectError).Detail))
		return spiffeid.ID{}, errs
	}
	if id.Path() == "" {
		errs[3] = reject(ReasonRootPath, "certificate %s has SPIFFE ID %s without a path; a workload ID needs one", subjectOf(leaf), quote(id.String()))
		return spiffeid.ID{}, errs
	}
	return id, errs
}

// subjectOf names a certificate in messages: its SPIFFE URI when it has
// exactly one URI SAN, else its serial.
func subjectOf(c *x509.Certificate) string {
	if len(c.URIs) == 1 {
		return quote(c.URIs[0].String())
	}
	return "with serial " + serialHex(c)
}

// serialHex is the serial in lowercase hex, as shown in status and logs.
func serialHex(c *x509.Certificate) string {
	if c.SerialNumber == nil {
		return "0"
	}
	return c.SerialNumber.Text(16)
}
