package ca

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// startServer runs a CA server for dir on 127.0.0.1:0 until the test ends.
func startServer(tb testing.TB, cfg ServeConfig) string {
	tb.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// caClient is a raw client of the CA server: it requires the server's ID
// and presents cert (if any) as its TLS client certificate.
type caClient struct {
	tb   testing.TB
	addr string
	dir  string
	cert *tls.Certificate
}

func (c caClient) do(method, path string, body []byte) (int, []byte, *x509.Certificate) {
	c.tb.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(must(load(c.dir)).cert)
	var server *x509.Certificate
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			server = cs.PeerCertificates[0]
			_, err := server.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return err
		},
	}
	if c.cert != nil {
		cfg.Certificates = []tls.Certificate{*c.cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(method, "https://"+c.addr+path, bytes.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data, server
}

func testCSR(tb testing.TB, uri string) (*ecdsa.PrivateKey, string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		tb.Fatal(err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func jsonBody(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func issued(tb testing.TB, status int, body []byte, key *ecdsa.PrivateKey) (IssueResponse, *tls.Certificate) {
	tb.Helper()
	if status != http.StatusOK {
		tb.Fatalf("status %d: %s", status, body)
	}
	var ir IssueResponse
	if err := json.Unmarshal(body, &ir); err != nil {
		tb.Fatal(err)
	}
	b, _ := pem.Decode([]byte(ir.Certificate))
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		tb.Fatal("certificate is for another key")
	}
	if leaf.SerialNumber.Text(16) != ir.Serial || leaf.URIs[0].String() != ir.ID || !leaf.NotAfter.Equal(ir.NotAfter) {
		tb.Fatalf("response fields %+v do not describe the certificate", ir)
	}
	return ir, &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
}

func TestServeEnrollThenRenew(t *testing.T) {
	dir := initCA(t)
	addr := startServer(t, ServeConfig{Dir: dir, SVIDTTL: 10 * time.Minute})
	c := caClient{tb: t, addr: addr, dir: dir}

	// The CSR names another ID than the token's: refused, token kept.
	_, csrPay := testCSR(t, idPay)
	tok := newToken(t, dir, idFront, 0)
	st, body, _ := c.do("POST", PathEnroll, jsonBody(t, EnrollRequest{Token: tok, CSR: csrPay}))
	var er ErrorResponse
	if err := json.Unmarshal(body, &er); err != nil || st != http.StatusForbidden || er.Code != CodeTokenWrongID {
		t.Fatalf("CSR for another ID: status %d, %s", st, body)
	}
	key, csr := testCSR(t, idFront)
	st, body, server := c.do("POST", PathEnroll, jsonBody(t, EnrollRequest{Token: tok, CSR: csr}))
	ir, cert := issued(t, st, body, key)
	if ir.ID != idFront {
		t.Fatalf("issued for %q, want the token's ID %q", ir.ID, idFront)
	}
	if id, err := identity.CheckSVID(cert.Leaf); err != nil || id.String() != idFront {
		t.Fatalf("CheckSVID = %v, %v", id, err)
	}
	if d := time.Until(ir.NotAfter); d < 9*time.Minute || d > 10*time.Minute {
		t.Fatalf("lifetime left %s, want about 10m", d)
	}
	if server.URIs[0].String() != ServerID(td) {
		t.Fatalf("server ID %s, want %s", server.URIs[0], ServerID(td))
	}

	// Renew with the enrolled certificate; again the CSR's ID is ignored.
	c.cert = cert
	key2, csr2 := testCSR(t, idPay)
	st, body, _ = c.do("POST", PathRenew, jsonBody(t, RenewRequest{CSR: csr2}))
	ir2, _ := issued(t, st, body, key2)
	if ir2.ID != idFront || ir2.Serial == ir.Serial {
		t.Fatalf("renewal = %+v", ir2)
	}

	recs, err := Records(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, r := range recs {
		seen[r.Serial] = r.ID
	}
	for serial, id := range map[string]string{ir.Serial: idFront, ir2.Serial: idFront, server.SerialNumber.Text(16): ServerID(td)} {
		if seen[serial] != id {
			t.Errorf("issued.log: serial %s recorded as %q, want %q", serial, seen[serial], id)
		}
	}
}

func TestServeRefusals(t *testing.T) {
	dir := initCA(t)
	addr := startServer(t, ServeConfig{Dir: dir})
	a := must(load(dir))
	_, csr := testCSR(t, "")

	used := newToken(t, dir, idFront, 0)
	if _, err := ConsumeToken(dir, used, time.Now()); err != nil {
		t.Fatal(err)
	}
	expired := newToken(t, dir, idFront, time.Millisecond)
	time.Sleep(5 * time.Millisecond)

	// Client certificates: one revoked, one expired, one of another CA.
	leafFor := func(at time.Time, ttl time.Duration) *tls.Certificate {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c, err := a.signSVID(&k.PublicKey, spiffeid.RequireFromString(idFront), ttl, at)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
	}
	revokedCert := leafFor(time.Now(), time.Hour)
	if err := Revoke(dir, "", revokedCert.Leaf.SerialNumber.Text(16)); err != nil {
		t.Fatal(err)
	}
	expiredCert := leafFor(time.Now().Add(-3*time.Hour), time.Hour)
	fl := identitytest.NewCA(t, td).Issue(t, idFront)
	foreignCert := &fl.TLS

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, rsaKey)
	rsaCSR := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: rsaDER}))

	tests := []struct {
		name, method, path string
		body               []byte
		cert               *tls.Certificate
		status             int
		want               ErrorResponse
	}{
		{name: "used token", method: "POST", path: PathEnroll, body: jsonBody(t, EnrollRequest{Token: used, CSR: csr}), status: 403,
			want: ErrorResponse{Error: "the join token was already used", Code: CodeTokenUsed}},
		{name: "expired token", method: "POST", path: PathEnroll, body: jsonBody(t, EnrollRequest{Token: expired, CSR: csr}), status: 403,
			want: ErrorResponse{Error: "the join token has expired", Code: CodeTokenExpired}},
		{name: "unknown token", method: "POST", path: PathEnroll, body: jsonBody(t, EnrollRequest{Token: "nope", CSR: csr}), status: 403,
			want: ErrorResponse{Error: "the join token is unknown to this CA", Code: CodeTokenUnknown}},
		{name: "RSA CSR", method: "POST", path: PathEnroll, body: jsonBody(t, EnrollRequest{Token: newToken(t, dir, idFront, 0), CSR: rsaCSR}), status: 400,
			want: ErrorResponse{Error: "bad certificate signing request: its key is not ECDSA P-256", Code: CodeBadCSR}},
		{name: "no CSR", method: "POST", path: PathEnroll, body: []byte(`{"token":"x"}`), status: 400,
			want: ErrorResponse{Error: "bad certificate signing request: the csr field holds no PEM CERTIFICATE REQUEST block", Code: CodeBadCSR}},
		{name: "unknown field", method: "POST", path: PathEnroll, body: []byte(`{"token":"x","id":"spiffe://example.org/x"}`), status: 400,
			want: ErrorResponse{Error: `bad request: the body is not the expected JSON object: unknown field "id"`, Code: CodeBadRequest}},
		{name: "two objects", method: "POST", path: PathEnroll, body: []byte(`{} {}`), status: 400,
			want: ErrorResponse{Error: "bad request: the body holds more than one JSON value", Code: CodeBadRequest}},
		{name: "too large", method: "POST", path: PathEnroll, body: []byte(`{"token":"` + strings.Repeat("a", MaxRequestBytes) + `"}`), status: 400,
			want: ErrorResponse{Error: "bad request: the body is larger than 16384 bytes", Code: CodeBadRequest}},
		{name: "GET enroll", method: "GET", path: PathEnroll, status: 405,
			want: ErrorResponse{Error: "/v1/enroll takes POST, not GET", Code: CodeMethodNotAllow}},
		{name: "renew without certificate", method: "POST", path: PathRenew, body: jsonBody(t, RenewRequest{CSR: csr}), status: 401,
			want: ErrorResponse{Error: "renewal needs the current certificate as the TLS client certificate", Code: CodeNoClientCert}},
		{name: "renew revoked", method: "POST", path: PathRenew, body: jsonBody(t, RenewRequest{CSR: csr}), cert: revokedCert, status: 403,
			want: ErrorResponse{Error: "the client certificate of " + idFront + " (serial " + revokedCert.Leaf.SerialNumber.Text(16) + ") is revoked", Code: CodeRevoked}},
		{name: "renew expired", method: "POST", path: PathRenew, body: jsonBody(t, RenewRequest{CSR: csr}), cert: expiredCert, status: 403,
			want: ErrorResponse{Error: "the client certificate of " + idFront + " expired at " + expiredCert.Leaf.NotAfter.UTC().Format(time.RFC3339) + "; enroll again with a new token", Code: CodeExpired}},
		{name: "renew foreign CA", method: "POST", path: PathRenew, body: jsonBody(t, RenewRequest{CSR: csr}), cert: foreignCert, status: 403,
			want: ErrorResponse{Error: "the client certificate of " + idFront + " was not issued by this CA", Code: CodeBadClientCert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body, _ := caClient{tb: t, addr: addr, dir: dir, cert: tt.cert}.do(tt.method, tt.path, tt.body)
			var got ErrorResponse
			if err := json.Unmarshal(body, &got); err != nil || st != tt.status || got != tt.want {
				t.Fatalf("got %d %+v (%v), want %d %+v", st, got, err, tt.status, tt.want)
			}
		})
	}
}

func TestServeRateLimit(t *testing.T) {
	dir := initCA(t)
	addr := startServer(t, ServeConfig{Dir: dir, RatePerSecond: 0.001, RateBurst: 2})
	c := caClient{tb: t, addr: addr, dir: dir}
	for i, want := range []int{400, 400, 429} {
		if st, body, _ := c.do("POST", PathEnroll, []byte("{}")); st != want {
			t.Fatalf("request %d: status %d (%s), want %d", i+1, st, body, want)
		}
	}
}

func TestServeCRL(t *testing.T) {
	dir := initCA(t)
	addr := startServer(t, ServeConfig{Dir: dir})
	crt, _ := issue(t, dir, idFront, 0)
	if err := Revoke(dir, crt, ""); err != nil {
		t.Fatal(err)
	}
	st, body, _ := caClient{tb: t, addr: addr, dir: dir}.do("GET", PathCRL, nil)
	want, _ := os.ReadFile(filepath.Join(dir, CRLFile))
	if st != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET %s = %d, %d bytes; want 200 and the %d bytes of ca.crl", PathCRL, st, len(body), len(want))
	}
}

func TestServeConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  ServeConfig
		want string
	}{
		{name: "no dir", cfg: ServeConfig{}, want: "ca: serve needs a CA directory"},
		{name: "negative TTL", cfg: ServeConfig{Dir: "d", SVIDTTL: -1}, want: "ca: certificate lifetime -1ns is negative"},
		{name: "negative rate", cfg: ServeConfig{Dir: "d", RatePerSecond: -1}, want: "ca: rate and concurrency limits cannot be negative"},
		{name: "ok", cfg: ServeConfig{Dir: "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); errString(err) != tt.want {
				t.Fatalf("Validate = %q, want %q", errString(err), tt.want)
			}
		})
	}
}

func TestServerCertRenewedAtHalfLife(t *testing.T) {
	dir := initCA(t)
	now := time.Now()
	s, err := NewServer(ServeConfig{Dir: dir, ServerCertTTL: 2 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	first := must(s.serverCert())
	if again := must(s.serverCert()); again != first {
		t.Fatal("a fresh server certificate was replaced")
	}
	if id, err := identity.CheckSVID(first.Leaf); err != nil || id.String() != ServerID(td) {
		t.Fatalf("server certificate: %v, %v", id, err)
	}
	now = now.Add(time.Hour) // past half of 2h05m (NotBefore is 5 minutes back)
	if next := must(s.serverCert()); next == first || next.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("the server certificate was not renewed at half its life")
	}
}

func TestServeBusy(t *testing.T) {
	dir := initCA(t)
	s, err := NewServer(ServeConfig{Dir: dir, MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.sem <- struct{}{} // one request in flight
	rec := httptest.NewRecorder()
	s.handleEnroll(rec, httptest.NewRequest("POST", PathEnroll, strings.NewReader("{}")))
	var got ErrorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 503 || got.Code != CodeBusy || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("busy server: %d %+v %v", rec.Code, got, err)
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1, 2)
	t0 := time.Now()
	steps := []struct {
		name string
		key  string
		at   time.Duration
		want bool
	}{
		{"burst 1", "a", 0, true},
		{"burst 2", "a", 0, true},
		{"empty", "a", 0, false},
		{"other address", "b", 0, true},
		{"refilled one", "a", time.Second, true},
		{"empty again", "a", time.Second, false},
	}
	for _, s := range steps {
		if got := l.allow(s.key, t0.Add(s.at)); got != s.want {
			t.Fatalf("%s: allow = %v, want %v", s.name, got, s.want)
		}
	}
	for i := range maxLimiterKeys + 10 {
		l.allow(fmt.Sprint(i), t0.Add(time.Hour))
	}
	if n := len(l.buckets); n > maxLimiterKeys {
		t.Fatalf("limiter holds %d buckets, more than %d", n, maxLimiterKeys)
	}
}

func TestServeDropsSilentConnection(t *testing.T) {
	dir := initCA(t)
	addr := startServer(t, ServeConfig{Dir: dir, RequestTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a silent connection read %d bytes, %v; want it closed by the server (EOF)", n, err)
	}
}
