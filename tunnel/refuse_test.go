package tunnel

import (
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

func TestPolicyDenyAtReceiver(t *testing.T) {
	backendHit := make(chan struct{}, 1)
	backend := serve(t, func(*net.TCPConn) { backendHit <- struct{}{} })
	e := newEnv(t, envOpts{backend: backend})
	e.serverPol.set(false, "no-frontend")
	expectReset(t, e.upstream)
	eventually(t, "both sides to record the denial", func() bool {
		_, cs := e.clientMetrics.snapshot()
		_, ss := e.serverMetrics.snapshot()
		return slices.Equal(cs, []string{"outbound/denied"}) && slices.Equal(ss, []string{"inbound/denied"})
	})
	select {
	case <-backendHit:
		t.Fatal("the backend was dialed for a denied stream")
	default:
	}
}

func TestPolicyDenyAtSender(t *testing.T) {
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	e.clientPol.set(false, "no-frontend")
	expectReset(t, e.upstream)
	hs, st := e.clientMetrics.snapshot()
	if len(hs) != 0 || !slices.Equal(st, []string{"outbound/denied"}) {
		t.Fatalf("handshakes %v, streams %v; want none, [outbound/denied]", hs, st)
	}
	if shs, _ := e.serverMetrics.snapshot(); len(shs) != 0 {
		t.Fatalf("the callee saw handshakes %v for a stream its caller denied", shs)
	}
}

func TestHandshakeTimeoutClosesSilentConn(t *testing.T) {
	e := newEnv(t, envOpts{backend: "127.0.0.1:1", serverConfig: func(c *Config) {
		c.HandshakeTimeout = 200 * time.Millisecond
	}})
	c := dial(t, e.server.Addr().String())
	if err := readErr(c); err != nil && !isReset(err) {
		t.Fatalf("silent conn read ended with %v, want it closed by the server", err)
	}
	eventually(t, "the failed handshake to be counted", func() bool {
		hs, _ := e.serverMetrics.snapshot()
		return slices.Equal(hs, []string{"inbound/failed/other"})
	})
}

func TestMaxHandshakes(t *testing.T) {
	e := newEnv(t, envOpts{backend: "127.0.0.1:1", serverConfig: func(c *Config) { c.MaxHandshakes = 1 }})
	dial(t, e.server.Addr().String()) // holds the only handshake slot, silently
	eventually(t, "the slot to be taken", func() bool { return len(e.server.hsSem) == 1 })
	c := dial(t, e.server.Addr().String())
	if err := readErr(c); err != nil && !isReset(err) {
		t.Fatalf("read ended with %v, want the conn closed at once", err)
	}
	hs, _ := e.serverMetrics.snapshot()
	if !slices.Equal(hs, []string{"inbound/overloaded/"}) {
		t.Fatalf("handshakes %v, want [inbound/overloaded/]", hs)
	}
}

func TestHandshakeRefused(t *testing.T) {
	foreign := identitytest.NewCA(t, testTD)
	for _, tc := range []struct {
		name string
		// setup returns the caller's TLS provider and upstream target;
		// server is the callee's address, ca its CA.
		setup        func(t *testing.T, ca *identitytest.CA, server string) (TLSProvider, string, string)
		clientReason string // the dialing side's handshake reason
		serverReason string // the callee's, "" when it sees no handshake
		errText      string
	}{
		{
			name: "caller trusts another CA",
			setup: func(t *testing.T, ca *identitytest.CA, server string) (TLSProvider, string, string) {
				return newStore(t, foreign, []*identitytest.CA{foreign}, idFront), idPay, server
			},
			clientReason: "unknown_issuer", serverReason: "other", errText: "unknown_issuer",
		},
		{
			name: "caller certificate from a CA the callee does not trust",
			setup: func(t *testing.T, ca *identitytest.CA, server string) (TLSProvider, string, string) {
				return newStore(t, foreign, []*identitytest.CA{ca, foreign}, idFront), idPay, server
			},
			clientReason: "other", serverReason: "unknown_issuer", errText: "remote error: tls: bad certificate",
		},
		{
			name: "unknown SNI",
			setup: func(t *testing.T, ca *identitytest.CA, server string) (TLSProvider, string, string) {
				return newStore(t, ca, []*identitytest.CA{ca}, idFront), idOther, server
			},
			clientReason: "other", serverReason: "unknown_sni", errText: "remote error",
		},
		{
			name: "server proves another ID",
			setup: func(t *testing.T, ca *identitytest.CA, _ string) (TLSProvider, string, string) {
				leaf := ca.Issue(t, idOther)
				ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
					Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{identity.ALPN},
					ClientAuth: tls.RequestClientCert,
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
				return newStore(t, ca, []*identitytest.CA{ca}, idFront), idPay, ln.Addr().String()
			},
			clientReason: "wrong_id", errText: "wrong_id",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			e := newEnv(t, envOpts{backend: "127.0.0.1:1", noServer: false,
				clientConfig: func(c *Config) { c.Upstreams = nil }})
			prov, target, addr := tc.setup(t, e.ca, e.server.Addr().String())
			cm := &recMetrics{}
			cfg := DefaultConfig()
			cfg.Upstreams = []Upstream{{Source: idFront, Name: "up", Listen: "127.0.0.1:0", Target: target}}
			cfg.TLS = prov
			cfg.Resolver = ResolverFunc(func(string) []string { return []string{addr} })
			cfg.Authorize = newSwitchPolicy(true, "allow-all").authorize
			cfg.Logger = logs.logger()
			cfg.Metrics = cm
			client := startTunnel(t, cfg)
			expectReset(t, client.UpstreamAddr(idFront, "up").String())
			hs, _ := cm.snapshot()
			if want := []string{"outbound/failed/" + tc.clientReason}; !slices.Equal(hs, want) {
				t.Errorf("caller handshakes %v, want %v", hs, want)
			}
			if !strings.Contains(logs.String(), tc.errText) {
				t.Errorf("caller log does not say %q:\n%s", tc.errText, logs.String())
			}
			if tc.serverReason != "" {
				eventually(t, "the callee to count the refusal", func() bool {
					shs, _ := e.serverMetrics.snapshot()
					return slices.Equal(shs, []string{"inbound/failed/" + tc.serverReason})
				})
			}
		})
	}
}
