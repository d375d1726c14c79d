package tunnel

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// rawTLSClient is a TLS client config that calls idPay on a tunnel port
// without checking the server, presenting certs: a broken peer.
func rawTLSClient(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, ServerName: identity.SNI(idPay), NextProtos: []string{identity.ALPN},
		MinVersion: tls.VersionTLS13, Certificates: certs,
	}
}

// rawTLSDial handshakes with addr as cfg and reads once: a TLS 1.3 client
// learns that its certificate was refused only at its first read. It
// returns the first error.
func rawTLSDial(tb testing.TB, addr string, cfg *tls.Config) error {
	tb.Helper()
	c := dial(tb, addr)
	c.SetDeadline(time.Now().Add(waitLong))
	tc := tls.Client(c, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	_, err := io.ReadFull(tc, make([]byte, 1))
	return err
}

// brokenPeerCerts are the X509-SVID rules a peer can break, each with the
// reason the tunnel must report. foreign is a CA the tunnel does not trust.
func brokenPeerCerts(tb testing.TB, ca, foreign *identitytest.CA) []struct {
	name   string
	leaf   *identitytest.Leaf
	reason identity.Reason
} {
	now := time.Now()
	return []struct {
		name   string
		leaf   *identitytest.Leaf
		reason identity.Reason
	}{
		{"more than one URI SAN", ca.Issue(tb, idFront, identitytest.WithURIs(idFront, idOther)), identity.ReasonMultipleURISANs},
		{"no URI SAN", ca.Issue(tb, idFront, identitytest.WithNoURI()), identity.ReasonNoURISAN},
		{"non-spiffe scheme", ca.Issue(tb, idFront, identitytest.WithURIs("https://example.org/ns/prod/sa/frontend")), identity.ReasonNotSPIFFE},
		{"root path", ca.Issue(tb, idFront, identitytest.WithURIs("spiffe://example.org")), identity.ReasonRootPath},
		{"foreign trust domain", ca.Issue(tb, idFront, identitytest.WithURIs("spiffe://evil.example/ns/prod/sa/frontend")), identity.ReasonForeignTrustDomain},
		{"cA=true", ca.Issue(tb, idFront, identitytest.WithIsCA()), identity.ReasonIsCA},
		{"keyCertSign", ca.Issue(tb, idFront, identitytest.WithKeyUsage(x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign)), identity.ReasonKeyCertSign},
		{"cRLSign", ca.Issue(tb, idFront, identitytest.WithKeyUsage(x509.KeyUsageDigitalSignature|x509.KeyUsageCRLSign)), identity.ReasonCRLSign},
		{"no digitalSignature", ca.Issue(tb, idFront, identitytest.WithKeyUsage(x509.KeyUsageKeyEncipherment)), identity.ReasonNoDigitalSignature},
		{"EKU serverAuth only", ca.Issue(tb, idFront, identitytest.WithEKU(x509.ExtKeyUsageServerAuth)), identity.ReasonBadEKU},
		{"EKU clientAuth only", ca.Issue(tb, idFront, identitytest.WithEKU(x509.ExtKeyUsageClientAuth)), identity.ReasonBadEKU},
		{"expired", ca.Issue(tb, idFront, identitytest.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour))), identity.ReasonExpired},
		{"not yet valid", ca.Issue(tb, idFront, identitytest.WithValidity(now.Add(time.Hour), now.Add(48*time.Hour))), identity.ReasonNotYetValid},
		{"unknown issuer", foreign.Issue(tb, idFront), identity.ReasonUnknownIssuer},
	}
}

// TestTunnelPortRefusesBrokenPeerCertificates dials the real tunnel port
// with a raw TLS client presenting each broken certificate; the callee
// must refuse the handshake with that rule's reason in its metrics and log.
func TestTunnelPortRefusesBrokenPeerCertificates(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	foreign := identitytest.NewCA(t, testTD)
	revoked := ca.Issue(t, idFront)
	cases := brokenPeerCerts(t, ca, foreign)
	cases = append(cases, struct {
		name   string
		leaf   *identitytest.Leaf
		reason identity.Reason
	}{"revoked", revoked, identity.ReasonRevoked})

	// One callee trusting ca, with a CRL revoking the "revoked" leaf.
	dir := t.TempDir()
	payCert, payKey := ca.Issue(t, idPay).WriteFiles(t, dir, "pay")
	store, err := identity.NewStore(identity.StoreConfig{
		TrustDomain: testTD, BundleFile: ca.WriteBundle(t, dir),
		CRLFiles:  []string{identitytest.WriteFile(t, dir, "ca.crl", ca.CRL(t, revoked.Cert))},
		Workloads: []identity.WorkloadConfig{{ID: idPay, CertFile: payCert, KeyFile: payKey}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo), serverConfig: func(c *Config) {
		c.TLS = store
		c.Logger = logs.logger()
	}})
	addr := e.server.Addr().String()
	seen := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := rawTLSDial(t, addr, rawTLSClient(tc.leaf.TLS)); err == nil {
				t.Fatal("the broken peer read from the tunnel, want the handshake refused")
			}
			want := "inbound/failed/" + string(tc.reason)
			eventually(t, "the refusal "+want+" to be counted", func() bool {
				hs, _ := e.serverMetrics.snapshot()
				return len(hs) == seen+1
			})
			hs, _ := e.serverMetrics.snapshot()
			seen = len(hs)
			if hs[len(hs)-1] != want {
				t.Fatalf("handshake recorded as %s, want %s", hs[len(hs)-1], want)
			}
			waitLogged(t, &logs, "tunnel handshake refused", "reason="+string(tc.reason))
		})
	}
	// The legitimate caller is served all along.
	roundTrip(t, dial(t, e.upstream), "after the broken peers")
}

// TestCallerRefusesBrokenServerCertificates is the reverse: a server
// presenting a broken certificate to our caller is refused with the rule's
// reason in the caller's metrics and log.
func TestCallerRefusesBrokenServerCertificates(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	foreign := identitytest.NewCA(t, testTD)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		leaf   *identitytest.Leaf
		reason identity.Reason
	}{
		{"no URI SAN", ca.Issue(t, idPay, identitytest.WithNoURI()), identity.ReasonNoURISAN},
		{"cA=true", ca.Issue(t, idPay, identitytest.WithIsCA()), identity.ReasonIsCA},
		{"EKU serverAuth only", ca.Issue(t, idPay, identitytest.WithEKU(x509.ExtKeyUsageServerAuth)), identity.ReasonBadEKU},
		{"expired", ca.Issue(t, idPay, identitytest.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour))), identity.ReasonExpired},
		{"unknown issuer", foreign.Issue(t, idPay), identity.ReasonUnknownIssuer},
		{"another workload", ca.Issue(t, idOther), identity.ReasonWrongID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
				Certificates: []tls.Certificate{tc.leaf.TLS}, NextProtos: []string{identity.ALPN},
				ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS13,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { c.(*tls.Conn).Handshake(); c.Close() }()
				}
			}()
			var logs logBuffer
			e := newEnv(t, envOpts{ca: ca, noServer: true, clientConfig: func(c *Config) { c.Logger = logs.logger() }})
			e.resolver.set(ln.Addr().String())
			expectReset(t, e.upstream)
			hs, _ := e.clientMetrics.snapshot()
			if want := []string{"outbound/failed/" + string(tc.reason)}; !slices.Equal(hs, want) {
				t.Fatalf("caller handshakes %v, want %v", hs, want)
			}
			if !strings.Contains(logs.String(), string(tc.reason)) {
				t.Fatalf("caller log does not name %s:\n%s", tc.reason, logs.String())
			}
		})
	}
}
