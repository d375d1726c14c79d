package ca

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// refusal is an error with the HTTP status and code the client gets.
type refusal struct {
	status int
	code   string
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(status int, code string, err error) *refusal {
	return &refusal{status: status, code: code, err: err}
}

// admit applies the method, rate and concurrency limits; it writes the
// refusal itself and returns a release func (nil when refused).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, method string) func() {
	op := strings.TrimPrefix(r.URL.Path, "/v1/")
	if r.Method != method {
		s.fail(w, r, op, refuse(http.StatusMethodNotAllowed, CodeMethodNotAllow, fmt.Errorf("ca: %s takes %s, not %s", r.URL.Path, method, r.Method)))
		return nil
	}
	if !s.lim.allow(hostOf(r.RemoteAddr), s.cfg.Now()) {
		s.fail(w, r, op, refuse(http.StatusTooManyRequests, CodeRateLimited, errors.New("ca: too many requests from this address; retry later")))
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }
	default:
		s.fail(w, r, op, refuse(http.StatusServiceUnavailable, CodeBusy, errors.New("ca: the CA server is busy; retry later")))
		return nil
	}
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	release := s.admit(w, r, http.MethodPost)
	if release == nil {
		return
	}
	defer release()
	var req EnrollRequest
	if err := decodeRequest(http.MaxBytesReader(w, r.Body, MaxRequestBytes), &req); err != nil {
		s.fail(w, r, "enroll", refuse(http.StatusBadRequest, CodeBadRequest, err))
		return
	}
	// The CSR is checked before the token is consumed: a broken client must
	// not burn its token.
	csr, pub, err := parseCSR(req.CSR)
	if err != nil {
		s.fail(w, r, "enroll", refuse(http.StatusBadRequest, CodeBadCSR, err))
		return
	}
	now := s.cfg.Now()
	want := ""
	if len(csr.URIs) == 1 {
		want = csr.URIs[0].String()
	}
	idStr, err := ConsumeTokenFor(s.cfg.Dir, req.Token, want, now)
	if err != nil {
		s.fail(w, r, "enroll", tokenRefusal(err))
		return
	}
	id, err := identity.ParseWorkloadID(idStr)
	if err != nil {
		s.fail(w, r, "enroll", refuse(http.StatusInternalServerError, CodeInternal, fmt.Errorf("ca: the token's ID %q is not a workload ID", idStr)))
		return
	}
	s.issue(w, r, "enroll", csr, pub, id, now)
}

func tokenRefusal(err error) *refusal {
	switch {
	case errors.Is(err, ErrTokenUnknown):
		return refuse(http.StatusForbidden, CodeTokenUnknown, err)
	case errors.Is(err, ErrTokenUsed):
		return refuse(http.StatusForbidden, CodeTokenUsed, err)
	case errors.Is(err, ErrTokenExpired):
		return refuse(http.StatusForbidden, CodeTokenExpired, err)
	case errors.Is(err, ErrTokenWrongID):
		return refuse(http.StatusForbidden, CodeTokenWrongID, err)
	}
	return refuse(http.StatusInternalServerError, CodeInternal, err)
}

func (s *Server) handleRenew(w http.ResponseWriter, r *http.Request) {
	release := s.admit(w, r, http.MethodPost)
	if release == nil {
		return
	}
	defer release()
	now := s.cfg.Now()
	id, rf := s.checkCaller(r.TLS, now)
	if rf != nil {
		s.fail(w, r, "renew", rf)
		return
	}
	var req RenewRequest
	if err := decodeRequest(http.MaxBytesReader(w, r.Body, MaxRequestBytes), &req); err != nil {
		s.fail(w, r, "renew", refuse(http.StatusBadRequest, CodeBadRequest, err))
		return
	}
	csr, pub, err := parseCSR(req.CSR)
	if err != nil {
		s.fail(w, r, "renew", refuse(http.StatusBadRequest, CodeBadCSR, err))
		return
	}
	s.issue(w, r, "renew", csr, pub, id, now)
}

// checkCaller authenticates a renewal: the TLS client certificate must be a
// valid X509-SVID of the CA's trust domain, chain to this CA, be inside its
// validity and not be on the CRL (re-read per request).
func (s *Server) checkCaller(cs *tls.ConnectionState, now time.Time) (spiffeid.ID, *refusal) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return spiffeid.ID{}, refuse(http.StatusUnauthorized, CodeNoClientCert, errors.New("ca: renewal needs the current certificate as the TLS client certificate"))
	}
	leaf := cs.PeerCertificates[0]
	id, err := identity.CheckSVID(leaf)
	if err != nil {
		return spiffeid.ID{}, refuse(http.StatusForbidden, CodeBadClientCert, fmt.Errorf("ca: the client certificate is not a valid X509-SVID: %s", strings.TrimPrefix(err.Error(), "identity: ")))
	}
	if id.TrustDomain().Name() != s.a.td || id.String() == ServerID(s.a.td) {
		return spiffeid.ID{}, refuse(http.StatusForbidden, CodeBadClientCert, fmt.Errorf("ca: the client certificate's ID %q is not a workload of trust domain %q", id.String(), s.a.td))
	}
	if now.After(leaf.NotAfter) {
		return spiffeid.ID{}, refuse(http.StatusForbidden, CodeExpired, fmt.Errorf("ca: the client certificate of %s expired at %s; enroll again with a new token", id.String(), leaf.NotAfter.UTC().Format(time.RFC3339)))
	}
	opts := x509.VerifyOptions{Roots: s.roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if len(cs.PeerCertificates) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		return spiffeid.ID{}, refuse(http.StatusForbidden, CodeBadClientCert, fmt.Errorf("ca: the client certificate of %s was not issued by this CA", id.String()))
	}
	revoked, err := s.a.revoked(leaf.SerialNumber)
	if err != nil {
		return spiffeid.ID{}, refuse(http.StatusInternalServerError, CodeInternal, err)
	}
	if revoked {
		return spiffeid.ID{}, refuse(http.StatusForbidden, CodeRevoked, fmt.Errorf("ca: the client certificate of %s (serial %s) is revoked", id.String(), leaf.SerialNumber.Text(16)))
	}
	return id, nil
}

// issue signs the CSR's key for id (never for an ID the CSR names), logs the
// issuance and writes the response.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, op string, csr *x509.CertificateRequest, pub *ecdsa.PublicKey, id spiffeid.ID, now time.Time) {
	if len(csr.URIs) > 0 && (len(csr.URIs) != 1 || csr.URIs[0].String() != id.String()) {
		s.log.Warn("CSR names another ID; issuing for the authorised ID", "op", op, "id", id.String(),
			"csr_uris", fmt.Sprint(csr.URIs), "caller", r.RemoteAddr)
	}
	leaf, err := s.a.signSVID(pub, id, s.cfg.SVIDTTL, now)
	if err != nil {
		s.fail(w, r, op, refuse(http.StatusInternalServerError, CodeInternal, err))
		return
	}
	serial := leaf.SerialNumber.Text(16)
	s.log.Info("certificate issued", "op", op, "id", id.String(), "serial", serial,
		"caller", r.RemoteAddr, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	writeJSON(w, http.StatusOK, IssueResponse{ID: id.String(), Serial: serial, Certificate: string(certPEM(leaf.Raw)), NotAfter: leaf.NotAfter.UTC()})
}

func (s *Server) handleCRL(w http.ResponseWriter, r *http.Request) {
	release := s.admit(w, r, http.MethodGet)
	if release == nil {
		return
	}
	defer release()
	// readCRL checks the signature, so a damaged file is never served; the
	// list it checked is the one served (a revoke may rewrite the file).
	list, err := s.a.readCRL()
	if err != nil {
		s.fail(w, r, "crl", refuse(http.StatusInternalServerError, CodeInternal, err))
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(http.StatusOK)
	w.Write(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: list.Raw}))
}

// fail logs a refusal once and sends it as an ErrorResponse. The sentence
// sent drops the "ca: " prefix: the client adds its own context.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, rf *refusal) {
	lvl := s.log.Warn
	if rf.status >= 500 && rf.code == CodeInternal {
		lvl = s.log.Error
	}
	lvl("request refused", "op", op, "caller", r.RemoteAddr, "code", rf.code, "error", rf.err)
	if rf.status == http.StatusTooManyRequests || rf.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, rf.status, ErrorResponse{Error: strings.TrimPrefix(rf.err.Error(), "ca: "), Code: rf.code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
