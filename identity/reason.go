package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// Reason is the short, stable name of why a certificate or peer was refused.
// Reasons are used in logs and as the value of the `reason` label of
// ztunnel_handshakes_total, so the set is bounded and never renamed.
type Reason string

// The reasons a certificate or a peer is refused, one per SPIFFE X509-SVID
// rule and per trust check.
const (
	ReasonNoCertificate      Reason = "no_certificate"
	ReasonNoURISAN           Reason = "no_uri_san"
	ReasonMultipleURISANs    Reason = "multiple_uri_sans"
	ReasonNotSPIFFE          Reason = "not_spiffe"
	ReasonBadID              Reason = "bad_spiffe_id"
	ReasonRootPath           Reason = "root_path"
	ReasonIsCA               Reason = "ca_certificate"
	ReasonNoKeyUsage         Reason = "no_key_usage"
	ReasonNoDigitalSignature Reason = "no_digital_signature"
	ReasonKeyCertSign        Reason = "key_cert_sign"
	ReasonCRLSign            Reason = "crl_sign"
	ReasonBadEKU             Reason = "bad_eku"
	ReasonExpired            Reason = "expired"
	ReasonNotYetValid        Reason = "not_yet_valid"
	ReasonUnknownIssuer      Reason = "unknown_issuer"
	ReasonForeignTrustDomain Reason = "foreign_trust_domain"
	ReasonWrongID            Reason = "wrong_id"
	ReasonRevoked            Reason = "revoked"
	ReasonRevocationUnknown  Reason = "revocation_unknown"
	ReasonPinMismatch        Reason = "pin_mismatch"
	ReasonKeyMismatch        Reason = "key_mismatch"
	ReasonUnknownSNI         Reason = "unknown_sni"
	ReasonOther              Reason = "other"
)

// RejectError is a refusal with its Reason. Error() is one sentence naming
// what was wrong.
type RejectError struct {
	Reason Reason
	Detail string
}

func (e *RejectError) Error() string { return "identity: " + e.Detail }

// ReasonOf returns the Reason carried by err, "" for a nil err and
// ReasonOther for an error that carries none.
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ReasonOther
}

// SNISuffix ends every server name a ztunnel client sends.
const SNISuffix = ".ztunnel.invalid"

// SNI is the TLS server name that selects the workload id on a tunnel port:
// the lowercase hex of the first 16 bytes of SHA-256 of the ID, followed by
// SNISuffix (DESIGN §4). Hashing keeps the name a valid DNS label whatever
// the ID holds.
func SNI(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16]) + SNISuffix
}

// ReasonNoALPN is a peer that did not negotiate the ztunnel ALPN protocol.
const ReasonNoALPN Reason = "no_alpn"
