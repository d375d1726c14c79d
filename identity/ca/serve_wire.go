package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The CA server's HTTP API (HTTP/1.1 over TLS 1.3, JSON bodies): the
// contract between `ztunnel ca serve` and package identity/enroll.
const (
	PathEnroll = "/v1/enroll" // POST EnrollRequest -> IssueResponse
	PathRenew  = "/v1/renew"  // POST RenewRequest over mutual TLS -> IssueResponse
	PathCRL    = "/v1/crl"    // GET -> the current CRL, PEM

	// MaxRequestBytes bounds a request body; a P-256 CSR in PEM is ~600 bytes.
	MaxRequestBytes = 16 << 10
)

// ServerIDPath is the path of the CA server's own SPIFFE ID: clients require
// the server to present exactly spiffe://<trust domain>/ztunnel/ca-server.
const ServerIDPath = "/ztunnel/ca-server"

// ServerID returns the SPIFFE ID the CA server of trustDomain presents.
func ServerID(trustDomain string) string { return "spiffe://" + trustDomain + ServerIDPath }

// EnrollRequest buys one certificate with a one-time token. The CSR's key is
// what gets certified; any ID the CSR names is ignored: the certificate is
// for the ID the token was made for.
type EnrollRequest struct {
	Token string `json:"token"`
	CSR   string `json:"csr"` // PEM "CERTIFICATE REQUEST", ECDSA P-256
}

// RenewRequest asks for a new certificate for the ID of the TLS client
// certificate the request came with.
type RenewRequest struct {
	CSR string `json:"csr"`
}

// IssueResponse carries a new certificate.
type IssueResponse struct {
	ID          string    `json:"id"`
	Serial      string    `json:"serial"`      // lowercase hex
	Certificate string    `json:"certificate"` // PEM: leaf, then any intermediates
	NotAfter    time.Time `json:"not_after"`
}

// ErrorResponse is the body of every refusal: one sentence and a stable code.
type ErrorResponse struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Codes of ErrorResponse.
const (
	CodeBadRequest     = "bad_request"
	CodeBadCSR         = "bad_csr"
	CodeTokenUnknown   = "token_unknown"
	CodeTokenUsed      = "token_used"
	CodeTokenExpired   = "token_expired"
	CodeTokenWrongID   = "token_wrong_id"
	CodeNoClientCert   = "no_client_certificate"
	CodeBadClientCert  = "bad_client_certificate"
	CodeExpired        = "expired"
	CodeRevoked        = "revoked"
	CodeRateLimited    = "rate_limited"
	CodeBusy           = "busy"
	CodeInternal       = "internal"
	CodeMethodNotAllow = "method_not_allowed"
)

// Errors of request decoding.
var (
	// ErrBadRequest is a body that is not one JSON object of the expected
	// shape, or larger than MaxRequestBytes.
	ErrBadRequest = errors.New("ca: bad request")
	// ErrBadCSR is a CSR that is not PEM, does not parse, has a bad
	// signature or a key other than ECDSA P-256.
	ErrBadCSR = errors.New("ca: bad certificate signing request")
)

// decodeRequest decodes exactly one JSON object into v, refusing unknown
// fields and trailing data. Callers bound r (http.MaxBytesReader).
func decodeRequest(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: the body is larger than %d bytes", ErrBadRequest, MaxRequestBytes)
		}
		return fmt.Errorf("%w: the body is not the expected JSON object: %s", ErrBadRequest, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return fmt.Errorf("%w: the body holds more than one JSON value", ErrBadRequest)
	}
	return nil
}

// parseCSR decodes a PEM CSR, checks its self-signature and that its key is
// ECDSA P-256, and returns the request and its key.
func parseCSR(s string) (*x509.CertificateRequest, *ecdsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		return nil, nil, fmt.Errorf("%w: the csr field holds no PEM CERTIFICATE REQUEST block", ErrBadCSR)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: it cannot be parsed: %s", ErrBadCSR, strings.TrimPrefix(err.Error(), "x509: "))
	}
	pub, ok := csr.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, nil, fmt.Errorf("%w: its key is not ECDSA P-256", ErrBadCSR)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("%w: its signature does not verify", ErrBadCSR)
	}
	return csr, pub, nil
}
