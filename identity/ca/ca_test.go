package ca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

const (
	td      = "example.org"
	idFront = "spiffe://example.org/ns/prod/sa/frontend"
	idPay   = "spiffe://example.org/ns/prod/sa/payments"
)

func initCA(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "ca")
	if err := Init(dir, td, 0); err != nil {
		tb.Fatalf("Init: %v", err)
	}
	return dir
}

func issue(tb testing.TB, dir, id string, ttl time.Duration) (string, string) {
	tb.Helper()
	crt, key, err := Issue(dir, id, filepath.Join(filepath.Dir(dir), strings.ReplaceAll(id[len("spiffe://"):], "/", "_")), ttl)
	if err != nil {
		tb.Fatalf("Issue: %v", err)
	}
	return crt, key
}

func mode(tb testing.TB, p string) os.FileMode {
	tb.Helper()
	st, err := os.Stat(p)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Mode().Perm()
}

func readLeaf(tb testing.TB, p string) *x509.Certificate {
	tb.Helper()
	c, _, err := readCert(p)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestInit(t *testing.T) {
	dir := initCA(t)
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("dir mode %o, want 700", m)
	}
	if m := mode(t, filepath.Join(dir, KeyFile)); m != 0o600 {
		t.Errorf("key mode %o, want 600", m)
	}
	a, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := a.cert
	if !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || c.URIs[0].String() != "spiffe://"+td {
		t.Fatalf("CA certificate: isCA %v, key usage %v, URIs %v", c.IsCA, c.KeyUsage, c.URIs)
	}
	if d := time.Until(c.NotAfter); d < DefaultCATTL-time.Hour || d > DefaultCATTL {
		t.Fatalf("CA lifetime %s, want about %s", d, DefaultCATTL)
	}
	list, err := a.readCRL()
	if err != nil || len(list.RevokedCertificateEntries) != 0 {
		t.Fatalf("initial CRL: %v, %d entries", err, len(list.RevokedCertificateEntries))
	}

	err = Init(dir, td, 0)
	want := `ca: a CA already exists in "` + dir + `" (ca.crt is there); refusing to overwrite it`
	if errString(err) != want || !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %q, want %q", errString(err), want)
	}
	if !bytes.Equal(a.cert.Raw, must(load(dir)).cert.Raw) {
		t.Fatal("second Init changed the CA")
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct{ name, td, want string }{
		{name: "uppercase", td: "Example.org", want: `ca: "Example.org" is not a valid trust domain name (lowercase letters, digits, '.', '-', '_')`},
		{name: "with path", td: "example.org/x", want: `ca: "example.org/x" is not a valid trust domain name (lowercase letters, digits, '.', '-', '_')`},
		{name: "empty", td: "", want: `ca: "" is not a valid trust domain name (lowercase letters, digits, '.', '-', '_')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Init(t.TempDir(), tt.td, 0); errString(err) != tt.want {
				t.Fatalf("error %q, want %q", errString(err), tt.want)
			}
		})
	}
}

func TestIssuePassesCheckSVIDAndLoads(t *testing.T) {
	dir := initCA(t)
	crt, key := issue(t, dir, idFront, 0)
	if m := mode(t, key); m != 0o600 {
		t.Errorf("key mode %o, want 600", m)
	}
	leaf := readLeaf(t, crt)
	id, err := identity.CheckSVID(leaf)
	if err != nil || id.String() != idFront {
		t.Fatalf("CheckSVID = %v, %v", id, err)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < DefaultLeafTTL || d > DefaultLeafTTL+10*time.Minute {
		t.Fatalf("lifetime %s, want about %s", d, DefaultLeafTTL)
	}
	log, err := os.ReadFile(filepath.Join(dir, IssuedFile))
	if err != nil || !strings.Contains(string(log), "\t"+leaf.SerialNumber.Text(16)+"\t"+idFront+"\t") {
		t.Fatalf("issued.log %q, %v: serial not recorded", log, err)
	}
	s, err := identity.NewStore(identity.StoreConfig{
		TrustDomain: td, BundleFile: filepath.Join(dir, CertFile), CRLFiles: []string{filepath.Join(dir, CRLFile)},
		Workloads: []identity.WorkloadConfig{{ID: idFront, CertFile: crt, KeyFile: key}},
	})
	if err != nil {
		t.Fatalf("NewStore with issued files: %v", err)
	}
	if s.Current(idFront).Serial != leaf.SerialNumber.Text(16) {
		t.Fatal("store holds another certificate")
	}
}

func TestIssueLifetimeCappedByCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if err := Init(dir, td, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	crt, _ := issue(t, dir, idFront, 48*time.Hour)
	if leaf, ca := readLeaf(t, crt), must(load(dir)).cert; !leaf.NotAfter.Equal(ca.NotAfter) {
		t.Fatalf("leaf NotAfter %s, want the CA's %s", leaf.NotAfter, ca.NotAfter)
	}
}

func TestIssueErrors(t *testing.T) {
	dir := initCA(t)
	out := filepath.Join(t.TempDir(), "w")
	tests := []struct{ name, dir, id, want string }{
		{name: "other trust domain", dir: dir, id: "spiffe://other.org/w", want: `ca: ID "spiffe://other.org/w" is not in the CA's trust domain "example.org"`},
		{name: "root ID", dir: dir, id: "spiffe://example.org", want: `ca: SPIFFE ID "spiffe://example.org" has no path: a workload ID needs one`},
		{name: "no CA", dir: t.TempDir(), id: idFront, want: `ca: "` + "%s" + `" holds no CA (no ca.crt); run ` + "`ztunnel ca init`" + ` first`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Issue(tt.dir, tt.id, out, 0)
			want := tt.want
			if strings.Contains(want, "%s") {
				want = strings.Replace(want, "%s", tt.dir, 1)
			}
			if errString(err) != want {
				t.Fatalf("error %q, want %q", errString(err), want)
			}
		})
	}
}

func TestRevokeThenStoreRefuses(t *testing.T) {
	dir := initCA(t)
	frontCrt, frontKey := issue(t, dir, idFront, 0)
	payCrt, payKey := issue(t, dir, idPay, 0)
	crl := filepath.Join(dir, CRLFile)
	s, err := identity.NewStore(identity.StoreConfig{
		TrustDomain: td, BundleFile: filepath.Join(dir, CertFile), CRLFiles: []string{crl},
		Workloads: []identity.WorkloadConfig{{ID: idFront, CertFile: frontCrt, KeyFile: frontKey}, {ID: idPay, CertFile: payCrt, KeyFile: payKey}},
	})
	if err != nil {
		t.Fatal(err)
	}
	front := tls.ConnectionState{PeerCertificates: []*x509.Certificate{readLeaf(t, frontCrt)}}
	pay := tls.ConnectionState{PeerCertificates: []*x509.Certificate{readLeaf(t, payCrt)}}
	if err := s.Recheck(front); err != nil {
		t.Fatalf("before revoke: %v", err)
	}
	if err := Revoke(dir, frontCrt, ""); err != nil {
		t.Fatalf("Revoke by file: %v", err)
	}
	if err := Revoke(dir, frontCrt, ""); err != nil {
		t.Fatalf("second Revoke: %v", err)
	}
	// front is also a local workload: Reload reports its revocation.
	if changed, err := s.Reload(); !changed || identity.ReasonOf(err) != identity.ReasonRevoked {
		t.Fatalf("Reload = %v, %v; want true and a revoked error", changed, err)
	}
	if r := identity.ReasonOf(s.Recheck(front)); r != identity.ReasonRevoked {
		t.Fatalf("revoked front: reason %q", r)
	}
	if err := s.Recheck(pay); err != nil {
		t.Fatalf("pay refused: %v", err)
	}
	serial := readLeaf(t, payCrt).SerialNumber.Text(16)
	if err := Revoke(dir, "", "0x"+serial); err != nil {
		t.Fatalf("Revoke by serial: %v", err)
	}
	if _, err := s.Reload(); identity.ReasonOf(err) != identity.ReasonRevoked {
		t.Fatalf("Reload: %v; want a revoked error", err)
	}
	if r := identity.ReasonOf(s.Recheck(pay)); r != identity.ReasonRevoked {
		t.Fatalf("revoked pay: reason %q", r)
	}
	list, err := must(load(dir)).readCRL()
	if err != nil || len(list.RevokedCertificateEntries) != 2 || list.Number.Int64() != 3 {
		t.Fatalf("CRL: %v, %d entries, number %v", err, len(list.RevokedCertificateEntries), list.Number)
	}
}

func TestRevokeErrors(t *testing.T) {
	dir := initCA(t)
	foreign := identitytest.NewCA(t, td).Issue(t, idFront)
	foreignCrt, _ := foreign.WriteFiles(t, t.TempDir(), "foreign")
	tests := []struct{ name, file, serial, want string }{
		{name: "neither", want: "ca: revoke needs exactly one of a certificate file or a serial"},
		{name: "both", file: "x", serial: "1", want: "ca: revoke needs exactly one of a certificate file or a serial"},
		{name: "bad serial", serial: "xyz", want: `ca: serial "xyz" is not a positive hexadecimal number`},
		{name: "foreign certificate", file: foreignCrt, want: `ca: certificate file "` + foreignCrt + `" was not issued by the CA in "` + dir + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Revoke(dir, tt.file, tt.serial); errString(err) != tt.want {
				t.Fatalf("error %q, want %q", errString(err), tt.want)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	dir := initCA(t)
	crt, _ := issue(t, dir, idFront, 0)
	var out bytes.Buffer
	if err := Inspect(&out, crt); err != nil {
		t.Fatalf("Inspect good: %v\n%s", err, out.String())
	}
	leaf := readLeaf(t, crt)
	for _, want := range []string{"ID:          " + idFront, "Serial:      " + leaf.SerialNumber.Text(16), "SPKI pin:    " + identity.Pin(leaf), "Subject:     (empty)\n", "Issuer:      CN=ztunnel CA example.org,O=ztunnel\n", "  pass  exactly one URI SAN", "  pass  inside validity period"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("good certificate has a failing rule:\n%s", out.String())
	}

	bad := identitytest.NewCA(t, td).Issue(t, idFront, identitytest.WithIsCA(), identitytest.WithValidity(time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)))
	badCrt, _ := bad.WriteFiles(t, t.TempDir(), "bad")
	out.Reset()
	err := Inspect(&out, badCrt)
	want := `ca: certificate file "` + badCrt + `" breaks 2 X509-SVID rule(s), first "not a CA"`
	if errString(err) != want {
		t.Fatalf("Inspect bad: %q, want %q", errString(err), want)
	}
	for _, w := range []string{`  FAIL  not a CA: certificate "` + idFront + `" is a CA certificate (cA=true), not a leaf (ca_certificate)`, "  FAIL  inside validity period: expired at "} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
