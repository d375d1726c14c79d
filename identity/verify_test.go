package identity

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

func TestVerifyPeer(t *testing.T) {
	now := time.Now()
	rfc := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	chain := func(l *identitytest.Leaf) []*x509.Certificate {
		var out []*x509.Certificate
		for _, der := range l.TLS.Certificate {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	type result struct {
		certs []*x509.Certificate
		pc    peerCheck
		want  string
	}
	tests := []struct {
		name       string
		failOpen   bool
		setup      func(t *testing.T, e *testEnv) result
		wantReason Reason
		wantLog    string
	}{
		{name: "valid", setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Issue(t, idFront))}
		}},
		{name: "wanted ID", setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Issue(t, idPay)), pc: peerCheck{wantID: idPay}}
		}},
		{name: "no certificate", wantReason: ReasonNoCertificate, setup: func(t *testing.T, e *testEnv) result {
			return result{want: "identity: the peer presented no certificate"}
		}},
		{name: "SVID rule broken", wantReason: ReasonIsCA, setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Issue(t, idFront, identitytest.WithIsCA())),
				want: `identity: certificate "` + idFront + `" is a CA certificate (cA=true), not a leaf`}
		}},
		{name: "expired", wantReason: ReasonExpired, setup: func(t *testing.T, e *testEnv) result {
			na := now.Add(-time.Minute)
			return result{certs: chain(e.ca.Issue(t, idFront, identitytest.WithValidity(now.Add(-time.Hour), na))),
				want: `identity: certificate "` + idFront + `" expired at ` + rfc(na)}
		}},
		{name: "not yet valid", wantReason: ReasonNotYetValid, setup: func(t *testing.T, e *testEnv) result {
			nb := now.Add(time.Hour)
			return result{certs: chain(e.ca.Issue(t, idFront, identitytest.WithValidity(nb, nb.Add(time.Hour)))),
				want: `identity: certificate "` + idFront + `" is not valid before ` + rfc(nb)}
		}},
		{name: "unknown issuer", wantReason: ReasonUnknownIssuer, setup: func(t *testing.T, e *testEnv) result {
			other := identitytest.NewCA(t, testTD)
			return result{certs: chain(other.Issue(t, idFront)),
				want: `identity: certificate "` + idFront + `" is not signed by a CA of the trust bundle (issuer "` + other.Cert.Subject.String() + `")`}
		}},
		{name: "intermediate sent", setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Intermediate(t).Issue(t, idFront))}
		}},
		{name: "intermediate missing", wantReason: ReasonUnknownIssuer, setup: func(t *testing.T, e *testEnv) result {
			inter := e.ca.Intermediate(t)
			return result{certs: chain(inter.Issue(t, idFront))[:1],
				want: `identity: certificate "` + idFront + `" is not signed by a CA of the trust bundle (issuer "` + inter.Cert.Subject.String() + `")`}
		}},
		{name: "foreign trust domain", wantReason: ReasonForeignTrustDomain, setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Issue(t, "spiffe://other.org/w")),
				want: `identity: peer "spiffe://other.org/w" is in trust domain "other.org", not "example.org"`}
		}},
		{name: "wrong ID", wantReason: ReasonWrongID, setup: func(t *testing.T, e *testEnv) result {
			return result{certs: chain(e.ca.Issue(t, idFront)), pc: peerCheck{wantID: idPay},
				want: `identity: peer is "` + idFront + `", but "` + idPay + `" was expected`}
		}},
		{name: "pin match", setup: func(t *testing.T, e *testEnv) result {
			l := e.ca.Issue(t, idPay)
			return result{certs: chain(l), pc: peerCheck{wantID: idPay, pins: []string{"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", Pin(l.Cert)}}}
		}},
		{name: "pin mismatch", wantReason: ReasonPinMismatch, setup: func(t *testing.T, e *testEnv) result {
			l := e.ca.Issue(t, idPay)
			return result{certs: chain(l), pc: peerCheck{wantID: idPay, pins: []string{"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
				want: `identity: peer "` + idPay + `" has key pin ` + Pin(l.Cert) + `, which is not among the configured pins`}
		}},
		{name: "revoked", wantReason: ReasonRevoked, setup: func(t *testing.T, e *testEnv) result {
			l := e.ca.Issue(t, idFront, identitytest.WithSerial(0xbad))
			e.addCRL(t, e.ca.CRL(t, l.Cert))
			return result{certs: chain(l), want: `identity: certificate "` + idFront + `" (serial bad) is revoked by its issuer's CRL`}
		}},
		{name: "revoked by DER CRL", wantReason: ReasonRevoked, setup: func(t *testing.T, e *testEnv) result {
			l := e.ca.Issue(t, idFront, identitytest.WithSerial(0xbad))
			b, _ := pem.Decode(e.ca.CRL(t, l.Cert))
			e.addCRL(t, b.Bytes)
			return result{certs: chain(l), want: `identity: certificate "` + idFront + `" (serial bad) is revoked by its issuer's CRL`}
		}},
		{name: "not revoked", setup: func(t *testing.T, e *testEnv) result {
			e.addCRL(t, e.ca.CRL(t, e.ca.Issue(t, idPay).Cert))
			return result{certs: chain(e.ca.Issue(t, idFront))}
		}},
		{name: "revoked intermediate", wantReason: ReasonRevoked, setup: func(t *testing.T, e *testEnv) result {
			inter := e.ca.Intermediate(t)
			e.addCRL(t, e.ca.CRL(t, inter.Cert))
			return result{certs: chain(inter.Issue(t, idFront)),
				want: `identity: intermediate CA "` + inter.Cert.Subject.String() + `" (serial ` + inter.Cert.SerialNumber.Text(16) + `) in the chain of "` + idFront + `" is revoked by its issuer's CRL`}
		}},
		{name: "stale CRL fail_closed", wantReason: ReasonRevocationUnknown, setup: func(t *testing.T, e *testEnv) result {
			next := now.Add(-time.Minute)
			e.addCRL(t, e.ca.CRLAt(t, now.Add(-time.Hour), next))
			return result{certs: chain(e.ca.Issue(t, idFront)),
				want: `identity: revocation of "` + idFront + `" cannot be checked: the CRL of issuer "` + e.ca.Cert.Subject.String() + `" is stale since ` + rfc(next)}
		}},
		{name: "stale CRL fail_open", failOpen: true, wantLog: "revocation status unknown, accepting peer", setup: func(t *testing.T, e *testEnv) result {
			e.addCRL(t, e.ca.CRLAt(t, now.Add(-time.Hour), now.Add(-time.Minute)))
			return result{certs: chain(e.ca.Issue(t, idFront))}
		}},
		{name: "stale CRL fail_open still revokes", failOpen: true, wantReason: ReasonRevoked, setup: func(t *testing.T, e *testEnv) result {
			l := e.ca.Issue(t, idFront, identitytest.WithSerial(0xbad))
			e.addCRL(t, e.ca.CRLAt(t, now.Add(-time.Hour), now.Add(-time.Minute), l.Cert))
			return result{certs: chain(l), want: `identity: certificate "` + idFront + `" (serial bad) is revoked by its issuer's CRL`}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.clock.Set(now)
			if tt.failOpen {
				e.cfg.Revocation = RevocationFailOpen
			}
			r := tt.setup(t, e)
			s := e.store(t)
			id, err := s.verifyPeer(r.certs, r.pc)
			wantErr(t, err, r.want, tt.wantReason)
			if r.want == "" && id.IsZero() {
				t.Fatal("no ID returned")
			}
			if !strings.Contains(e.log.String(), tt.wantLog) {
				t.Fatalf("log %q does not contain %q", e.log.String(), tt.wantLog)
			}
			// Each acceptance with revocation unknown is counted.
			wantAccepts := uint64(0)
			if tt.wantLog != "" {
				wantAccepts = 1
			}
			if got := s.Status().RevocationUnknownAccepts; got != wantAccepts {
				t.Fatalf("RevocationUnknownAccepts = %d, want %d", got, wantAccepts)
			}
		})
	}
}

func TestVerifyPeerCRLGoesStale(t *testing.T) {
	e := newEnv(t)
	now := time.Now()
	e.clock.Set(now)
	e.addCRL(t, e.ca.CRLAt(t, now.Add(-time.Hour), now.Add(time.Hour)))
	s := e.store(t)
	certs := []*x509.Certificate{e.ca.Issue(t, idFront).Cert}
	if _, err := s.verifyPeer(certs, peerCheck{}); err != nil {
		t.Fatalf("fresh CRL: %v", err)
	}
	e.clock.Set(now.Add(2 * time.Hour))
	_, err := s.verifyPeer(certs, peerCheck{})
	if ReasonOf(err) != ReasonRevocationUnknown {
		t.Fatalf("stale CRL: %v, want reason %q", err, ReasonRevocationUnknown)
	}
}
