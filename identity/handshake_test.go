package identity

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

type hsResult struct {
	serverErr, clientErr error
	server, client       tls.ConnectionState
}

// handshake runs a real TLS handshake over loopback TCP. The server writes
// one byte after its handshake and the client reads it, because a TLS 1.3
// client learns that its certificate was refused only on its first read.
func handshake(tb testing.TB, scfg, ccfg *tls.Config) hsResult {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	var res hsResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			res.serverErr = err
			return
		}
		defer c.Close()
		sc := tls.Server(c, scfg)
		_ = sc.SetDeadline(time.Now().Add(10 * time.Second))
		if res.serverErr = sc.Handshake(); res.serverErr == nil {
			res.server = sc.ConnectionState()
			_, res.serverErr = sc.Write([]byte("x"))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	cc := tls.Client(c, ccfg)
	_ = cc.SetDeadline(time.Now().Add(10 * time.Second))
	if res.clientErr = cc.Handshake(); res.clientErr == nil {
		res.client = cc.ConnectionState()
		_, res.clientErr = io.ReadFull(cc, make([]byte, 1))
	}
	<-done
	return res
}

func clientConfig(tb testing.TB, s *Store, source, target string, pins ...string) *tls.Config {
	tb.Helper()
	cfg, err := s.ClientConfig(source, target, pins)
	if err != nil {
		tb.Fatalf("ClientConfig: %v", err)
	}
	return cfg
}

// rawClient is a client config not made by a Store, to act as a broken peer.
func rawClient(target string, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, ServerName: SNI(target), NextProtos: []string{ALPN},
		MinVersion: tls.VersionTLS13, Certificates: certs,
	}
}

func wantReason(tb testing.TB, side string, err error, want Reason) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: handshake succeeded, want reason %q", side, want)
	}
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != want {
		tb.Fatalf("%s: error %q has reason %q, want %q", side, err, ReasonOf(err), want)
	}
}

func TestHandshake(t *testing.T) {
	e := newEnv(t)
	front := e.issueWorkload(t, idFront)
	e.issueWorkload(t, idPay)
	s := e.store(t)

	t.Run("success", func(t *testing.T) {
		r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay))
		if r.serverErr != nil || r.clientErr != nil {
			t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
		}
		if got, err := PeerID(r.server); got != idFront || err != nil {
			t.Fatalf("server sees %q, %v; want %q", got, err, idFront)
		}
		if got, err := PeerID(r.client); got != idPay || err != nil {
			t.Fatalf("client sees %q, %v; want %q", got, err, idPay)
		}
		if r.client.Version != tls.VersionTLS13 || r.client.NegotiatedProtocol != ALPN {
			t.Fatalf("version %x, ALPN %q", r.client.Version, r.client.NegotiatedProtocol)
		}
		if r.client.DidResume || r.server.DidResume {
			t.Fatal("session resumed with tickets disabled")
		}
		if err := s.Recheck(r.server); err != nil {
			t.Fatalf("Recheck: %v", err)
		}
	})
	t.Run("pin match", func(t *testing.T) {
		r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay, s.Current(idPay).Pin))
		if r.serverErr != nil || r.clientErr != nil {
			t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
		}
	})
	t.Run("pin mismatch", func(t *testing.T) {
		r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay, s.Current(idFront).Pin))
		wantReason(t, "client", r.clientErr, ReasonPinMismatch)
	})
	t.Run("wrong CA", func(t *testing.T) {
		other := newEnv(t)
		other.issueWorkload(t, idFront)
		otherStore := other.store(t)
		r := handshake(t, s.ServerConfig(), clientConfig(t, otherStore, idFront, idPay))
		wantReason(t, "client", r.clientErr, ReasonUnknownIssuer)
		if r.serverErr == nil {
			t.Fatal("server accepted")
		}
		r = handshake(t, otherStore.ServerConfig(), clientConfig(t, s, idPay, idFront))
		wantReason(t, "client", r.clientErr, ReasonUnknownIssuer)
		r = handshake(t, s.ServerConfig(), rawClient(idPay, other.ca.Issue(t, idFront).TLS))
		wantReason(t, "server", r.serverErr, ReasonUnknownIssuer)
	})
	t.Run("wrong target ID", func(t *testing.T) {
		// A server that presents front's certificate when pay is dialed.
		imposter := &tls.Config{Certificates: []tls.Certificate{front.TLS}, NextProtos: []string{ALPN}, ClientAuth: tls.RequestClientCert}
		r := handshake(t, imposter, clientConfig(t, s, idFront, idPay))
		wantReason(t, "client", r.clientErr, ReasonWrongID)
	})
	t.Run("unknown SNI", func(t *testing.T) {
		r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, "spiffe://example.org/nobody"))
		wantReason(t, "server", r.serverErr, ReasonUnknownSNI)
		if r.clientErr == nil {
			t.Fatal("client succeeded")
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		r := handshake(t, s.ServerConfig(), rawClient(idPay))
		wantReason(t, "server", r.serverErr, ReasonNoCertificate)
		if r.clientErr == nil {
			t.Fatal("client succeeded")
		}
	})
	t.Run("no ALPN", func(t *testing.T) {
		c := rawClient(idPay, front.TLS)
		c.NextProtos = nil
		r := handshake(t, s.ServerConfig(), c)
		wantReason(t, "server", r.serverErr, ReasonNoALPN)
	})
	t.Run("TLS 1.2 only client", func(t *testing.T) {
		c := rawClient(idPay, front.TLS)
		c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		r := handshake(t, s.ServerConfig(), c)
		if r.serverErr == nil || !strings.Contains(r.serverErr.Error(), "unsupported versions") {
			t.Fatalf("server error %v, want unsupported versions", r.serverErr)
		}
		if r.clientErr == nil {
			t.Fatal("client succeeded")
		}
	})
	t.Run("unknown source", func(t *testing.T) {
		_, err := s.ClientConfig("spiffe://example.org/nobody", idPay, nil)
		if !errors.Is(err, ErrUnknownWorkload) {
			t.Fatalf("error %v, want ErrUnknownWorkload", err)
		}
		_, err = s.ClientConfig(idFront, "spiffe://example.org/a/", nil)
		wantErr(t, err, `identity: target: identity: bad SPIFFE ID "spiffe://example.org/a/": a trailing slash is not allowed`, ReasonBadID)
		_, err = s.ClientConfig(idFront, idPay, []string{"md5/x"})
		wantErr(t, err, `identity: pin "md5/x" must be "sha256/" followed by the base64 SHA-256 of a public key`, "")
	})
}

func TestHandshakeIntermediatesAndTwoCAs(t *testing.T) {
	e := newEnv(t)
	inter := e.ca.Intermediate(t)
	e.addWorkload(t, idPay, inter.Issue(t, idPay))
	second := identitytest.NewCA(t, testTD)
	if err := os.WriteFile(e.cfg.BundleFile, identitytest.BundlePEM(e.ca, second), 0o600); err != nil {
		t.Fatal(err)
	}
	e.addWorkload(t, idFront, second.Issue(t, idFront))
	s := e.store(t)
	if got := len(s.Current(idPay).TLS.Certificate); got != 2 {
		t.Fatalf("pay chain has %d certificates, want leaf + intermediate", got)
	}
	r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay))
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
	}
	if got := len(r.client.PeerCertificates); got != 2 {
		t.Fatalf("client received %d certificates, want 2", got)
	}
	r = handshake(t, s.ServerConfig(), clientConfig(t, s, idPay, idFront))
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("reverse: server %v, client %v", r.serverErr, r.clientErr)
	}
}

func TestHandshakeRevokedAndRecheck(t *testing.T) {
	e := newEnv(t)
	front := e.issueWorkload(t, idFront)
	e.issueWorkload(t, idPay)
	crl := e.addCRL(t, e.ca.CRL(t))
	s := e.store(t)
	r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay))
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
	}
	if err := os.WriteFile(crl, e.ca.CRL(t, front.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	// The revoked certificate is also a local workload's: Reload says so,
	// and the pair it keeps is marked revoked and no longer presented.
	changed, err := s.Reload()
	if !changed {
		t.Fatal("Reload did not report the new CRL")
	}
	revoked := `certificate "` + idFront + `" (serial ` + front.Cert.SerialNumber.Text(16) + `) is revoked by its issuer's CRL`
	wantErr(t, err, `identity: certificate file "`+e.cfg.Workloads[0].CertFile+`": `+revoked+"\n"+
		`identity: workload "`+idFront+`": its certificate is no longer presented: `+revoked+`; load a new one`, ReasonRevoked)
	if c := s.Current(idFront); !c.Revoked {
		t.Fatal("own revoked certificate not marked revoked")
	}
	if c := s.Current(idPay); c.Revoked {
		t.Fatal("a certificate the CRL does not name was marked revoked")
	}
	wantReason(t, "Recheck", s.Recheck(r.server), ReasonRevoked)
	// As the client: no certificate to present (crypto/tls then aborts the
	// handshake; the tunnel does not even dial, see tunnel.checkOwnCert).
	if _, err := clientConfig(t, s, idFront, idPay).GetClientCertificate(nil); !errors.Is(err, ErrOwnCertRevoked) {
		t.Fatalf("client with a revoked certificate of its own: error %v, want ErrOwnCertRevoked", err)
	}
	// As the server: the revoked workload is not presented either.
	r3 := handshake(t, s.ServerConfig(), clientConfig(t, s, idPay, idFront))
	if !errors.Is(r3.serverErr, ErrOwnCertRevoked) || r3.clientErr == nil {
		t.Fatalf("server presenting a revoked certificate: server %v, client %v", r3.serverErr, r3.clientErr)
	}
	if st := s.Status(); !st.Workloads[0].Revoked {
		t.Fatal("status does not show the revoked certificate")
	}

	// The revocation is lifted (a CRL without it): the pair is usable again.
	if err := os.WriteFile(crl, e.ca.CRL(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(); err != nil {
		t.Fatalf("Reload with a clean CRL: %v", err)
	}
	if s.Current(idFront).Revoked {
		t.Fatal("still marked revoked after a CRL without it")
	}
	if r := handshake(t, s.ServerConfig(), clientConfig(t, s, idFront, idPay)); r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("after the clean CRL: server %v, client %v", r.serverErr, r.clientErr)
	}
}

func TestPeerIDWithoutHandshake(t *testing.T) {
	if _, err := PeerID(tls.ConnectionState{}); !errors.Is(err, ErrNoPeerCertificate) {
		t.Fatalf("PeerID error %v, want ErrNoPeerCertificate", err)
	}
}
