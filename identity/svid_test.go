package identity

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

func TestCheckSVID(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	const serial = 0x2a
	s := identitytest.WithSerial(serial)
	ds := x509.KeyUsageDigitalSignature
	tests := []struct {
		name       string
		leaf       *x509.Certificate
		wantErr    string
		wantReason Reason
	}{
		{name: "valid", leaf: ca.Issue(t, idFront).Cert},
		{name: "valid without EKU", leaf: ca.Issue(t, idFront, identitytest.WithEKU()).Cert},
		{name: "valid with extra key usage", leaf: ca.Issue(t, idFront, identitytest.WithKeyUsage(ds|x509.KeyUsageKeyEncipherment)).Cert},
		{name: "nil", leaf: nil, wantErr: "identity: no certificate was presented", wantReason: ReasonNoCertificate},
		{name: "no URI SAN", leaf: ca.Issue(t, "", s).Cert,
			wantErr: "identity: certificate with serial 2a has no URI SAN", wantReason: ReasonNoURISAN},
		{name: "two URI SANs", leaf: ca.Issue(t, "", s, identitytest.WithURIs(idFront, idPay)).Cert,
			wantErr: "identity: certificate with serial 2a has 2 URI SANs; an X509-SVID has exactly one", wantReason: ReasonMultipleURISANs},
		{name: "not spiffe", leaf: ca.Issue(t, "https://example.org/a").Cert,
			wantErr: `identity: certificate "https://example.org/a" has URI SAN "https://example.org/a", which is not a spiffe:// URI`, wantReason: ReasonNotSPIFFE},
		{name: "bad ID", leaf: ca.Issue(t, "spiffe://example.org/a//b").Cert,
			wantErr: `identity: certificate "spiffe://example.org/a//b" has URI SAN "spiffe://example.org/a//b": bad SPIFFE ID "spiffe://example.org/a//b": an empty path segment is not allowed`, wantReason: ReasonBadID},
		{name: "root path", leaf: ca.Issue(t, "spiffe://example.org").Cert,
			wantErr: `identity: certificate "spiffe://example.org" has SPIFFE ID "spiffe://example.org" without a path; a workload ID needs one`, wantReason: ReasonRootPath},
		{name: "CA", leaf: ca.Issue(t, idFront, identitytest.WithIsCA()).Cert,
			wantErr: `identity: certificate "` + idFront + `" is a CA certificate (cA=true), not a leaf`, wantReason: ReasonIsCA},
		{name: "no key usage", leaf: ca.Issue(t, idFront, identitytest.WithKeyUsage(0)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has no key usage`, wantReason: ReasonNoKeyUsage},
		{name: "no digitalSignature", leaf: ca.Issue(t, idFront, identitytest.WithKeyUsage(x509.KeyUsageKeyEncipherment)).Cert,
			wantErr: `identity: certificate "` + idFront + `" lacks key usage digitalSignature`, wantReason: ReasonNoDigitalSignature},
		{name: "keyCertSign", leaf: ca.Issue(t, idFront, identitytest.WithKeyUsage(ds|x509.KeyUsageCertSign)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has key usage keyCertSign, which a leaf must not have`, wantReason: ReasonKeyCertSign},
		{name: "cRLSign", leaf: ca.Issue(t, idFront, identitytest.WithKeyUsage(ds|x509.KeyUsageCRLSign)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has key usage cRLSign, which a leaf must not have`, wantReason: ReasonCRLSign},
		{name: "EKU serverAuth only", leaf: ca.Issue(t, idFront, identitytest.WithEKU(x509.ExtKeyUsageServerAuth)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has an extended key usage without both serverAuth and clientAuth`, wantReason: ReasonBadEKU},
		{name: "EKU clientAuth only", leaf: ca.Issue(t, idFront, identitytest.WithEKU(x509.ExtKeyUsageClientAuth)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has an extended key usage without both serverAuth and clientAuth`, wantReason: ReasonBadEKU},
		{name: "EKU any only", leaf: ca.Issue(t, idFront, identitytest.WithEKU(x509.ExtKeyUsageAny)).Cert,
			wantErr: `identity: certificate "` + idFront + `" has an extended key usage without both serverAuth and clientAuth`, wantReason: ReasonBadEKU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := CheckSVID(tt.leaf)
			wantErr(t, err, tt.wantErr, tt.wantReason)
			if tt.wantErr == "" && id.String() != idFront {
				t.Fatalf("id %q, want %q", id, idFront)
			}
			rules := CheckSVIDRules(tt.leaf)
			failed := 0
			for _, r := range rules {
				if !r.Passed {
					failed++
				}
			}
			if (failed == 0) != (tt.wantErr == "") {
				t.Fatalf("CheckSVIDRules: %d failed rules, want error %v", failed, tt.wantErr != "")
			}
		})
	}
}

func TestCheckSVIDRulesListsEveryRule(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	rules := CheckSVIDRules(ca.Issue(t, idFront).Cert)
	if len(rules) != 10 {
		t.Fatalf("%d rules, want 10: %+v", len(rules), rules)
	}
	bad := CheckSVIDRules(ca.Issue(t, idFront, identitytest.WithIsCA(), identitytest.WithKeyUsage(0)).Cert)
	var reasons []Reason
	for _, r := range bad {
		if !r.Passed {
			reasons = append(reasons, r.Reason)
		}
	}
	want := []Reason{ReasonIsCA, ReasonNoKeyUsage, ReasonNoDigitalSignature}
	if len(reasons) != len(want) {
		t.Fatalf("failed reasons %v, want %v", reasons, want)
	}
	for i := range want {
		if reasons[i] != want[i] {
			t.Fatalf("failed reasons %v, want %v", reasons, want)
		}
	}
}

func TestPin(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	l := ca.Issue(t, idFront)
	sum := sha256.Sum256(l.Cert.RawSubjectPublicKeyInfo)
	want := "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
	if got := Pin(l.Cert); got != want {
		t.Fatalf("Pin = %q, want %q", got, want)
	}
	again := ca.IssueWithKey(t, l.Key, idFront)
	if Pin(again.Cert) != want {
		t.Fatal("re-issuing with the same key changed the pin")
	}
	if err := ValidatePin(want); err != nil {
		t.Fatalf("ValidatePin(%q): %v", want, err)
	}
	for _, bad := range []string{"", "sha256/", "sha1/" + want[7:], "sha256/" + want[7:20], want + "AA"} {
		if err := ValidatePin(bad); err == nil {
			t.Errorf("ValidatePin(%q) accepted", bad)
		}
	}
}
