package identity

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"strings"
)

// ALPN is the only application protocol a tunnel speaks (DESIGN §4).
const ALPN = "ztunnel/1"

// ServerConfig returns the TLS config of the accepting end of a tunnel:
// TLS 1.3 only, ALPN "ztunnel/1" required, session tickets off. The
// certificate is the local workload named by the client's SNI (see SNI);
// an unknown name fails the handshake with ReasonUnknownSNI. The client's
// certificate is required and checked in VerifyConnection against the
// current bundle, CRLs and time; the peer must be in our trust domain.
// Every handshake error of ours is a *RejectError.
//
// The config reads the current sources at each handshake, so one config
// serves for the life of the listener and reloads apply to the next
// handshake.
func (s *Store) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		NextProtos:             []string{ALPN},
		SessionTicketsDisabled: true,
		// RequestClientCert, not RequireAnyClientCert: with Require, crypto/tls
		// refuses a missing certificate with a plain error before
		// VerifyConnection runs, and the tunnel could not label it. Here
		// VerifyConnection refuses it with ReasonNoCertificate. It runs on
		// every full handshake, and tickets are off, so nothing skips it.
		ClientAuth: tls.RequestClientCert,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			ws := s.bySNI[hello.ServerName]
			if ws == nil {
				return nil, reject(ReasonUnknownSNI, "server name %s names no local workload", quote(hello.ServerName))
			}
			return presentable(ws.cur.Load())
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := checkALPN(cs); err != nil {
				return err
			}
			_, err := s.verifyPeer(cs.PeerCertificates, peerCheck{})
			return err
		},
		Time: s.now,
	}
}

// ClientConfig returns the TLS config of the dialing end of a tunnel from
// local workload source to remote workload target: it presents source's
// current certificate, sends SNI(target), ALPN "ztunnel/1", TLS 1.3 only,
// tickets off. crypto/tls's own verification is off (InsecureSkipVerify)
// because it checks DNS names; VerifyConnection does the chain, SVID,
// validity and CRL checks instead and requires the server's ID to equal
// target exactly (ReasonWrongID) and, when pins is non-empty, the leaf's
// SPKI pin to be among pins (ReasonPinMismatch).
func (s *Store) ClientConfig(source, target string, pins []string) (*tls.Config, error) {
	ws := s.byID[source]
	if ws == nil {
		return nil, fmt.Errorf("%w %s", ErrUnknownWorkload, quote(source))
	}
	if _, err := ParseWorkloadID(target); err != nil {
		return nil, fmt.Errorf("identity: target: %w", err)
	}
	for _, p := range pins {
		if err := ValidatePin(p); err != nil {
			return nil, err
		}
	}
	pc := peerCheck{wantID: target, pins: append([]string(nil), pins...)}
	return &tls.Config{
		MinVersion:             tls.VersionTLS13,
		MaxVersion:             tls.VersionTLS13,
		ServerName:             SNI(target),
		NextProtos:             []string{ALPN},
		SessionTicketsDisabled: true,
		InsecureSkipVerify:     true, // verified in VerifyConnection
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return presentable(ws.cur.Load())
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := checkALPN(cs); err != nil {
				return err
			}
			_, err := s.verifyPeer(cs.PeerCertificates, pc)
			return err
		},
		Time: s.now,
	}, nil
}

// presentable returns c's TLS certificate, or an error when c must not be
// presented.
func presentable(c *Certificate) (*tls.Certificate, error) {
	if c.Revoked {
		return nil, fmt.Errorf("%w: %s (serial %s); load a new one", ErrOwnCertRevoked, quote(c.ID), c.Serial)
	}
	return c.TLS, nil
}

func checkALPN(cs tls.ConnectionState) error {
	if cs.NegotiatedProtocol != ALPN {
		return reject(ReasonNoALPN, "the peer did not negotiate ALPN protocol %q", ALPN)
	}
	return nil
}

// ValidatePin checks the syntax of an SPKI pin: PinPrefix followed by the
// standard base64 of 32 bytes, written exactly as the encoder writes it.
// Pins are compared as strings, so anything the decoder tolerates but the
// encoder never produces (line breaks, which encoding/base64 skips) would be
// a pin that can never match.
func ValidatePin(p string) error {
	b64, ok := strings.CutPrefix(p, PinPrefix)
	if ok {
		b, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err == nil && len(b) == 32 && base64.StdEncoding.EncodeToString(b) == b64 {
			return nil
		}
	}
	return fmt.Errorf("identity: pin %s must be %q followed by the base64 SHA-256 of a public key", quote(p), PinPrefix)
}

// PeerID returns the SPIFFE ID of the peer leaf of a finished handshake made
// with a config of this package (which verified it).
func PeerID(cs tls.ConnectionState) (string, error) {
	if !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
		return "", ErrNoPeerCertificate
	}
	id, err := CheckSVID(cs.PeerCertificates[0])
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// Recheck re-verifies an established connection's peer chain against the
// current bundle, CRLs and time; the agent calls it after a reload to cut
// sessions with revoked or expired peers. The error is a *RejectError.
func (s *Store) Recheck(cs tls.ConnectionState) error {
	_, err := s.verifyPeer(cs.PeerCertificates, peerCheck{})
	return err
}
