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
		return slices.Equal(hs, []string{"inbound/failed/handshake_timeout"})
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
	eventually(t, "the refusal to be counted", func() bool {
		hs, _ := e.serverMetrics.snapshot()
		return slices.Equal(hs, []string{"inbound/overloaded/"})
	})
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

func TestPins(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	dir := t.TempDir()
	payLeaf := ca.Issue(t, idPay)
	cert, key := payLeaf.WriteFiles(t, dir, "pay")
	payStore, err := identity.NewStore(identity.StoreConfig{
		TrustDomain: testTD, BundleFile: ca.WriteBundle(t, dir),
		Workloads: []identity.WorkloadConfig{{ID: idPay, CertFile: cert, KeyFile: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	otherPin := identity.Pin(ca.Issue(t, idPay).Cert)
	for _, tc := range []struct {
		name string
		pins []string
		ok   bool
	}{
		{"matching pin", []string{otherPin, identity.Pin(payLeaf.Cert)}, true},
		{"no matching pin", []string{otherPin}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo),
				serverConfig: func(c *Config) { c.TLS = payStore },
				clientConfig: func(c *Config) { c.Upstreams[0].Pins = tc.pins }})
			if tc.ok {
				roundTrip(t, dial(t, e.upstream), "pinned")
				return
			}
			expectReset(t, e.upstream)
			hs, _ := e.clientMetrics.snapshot()
			if !slices.Equal(hs, []string{"outbound/failed/pin_mismatch"}) {
				t.Fatalf("handshakes %v, want [outbound/failed/pin_mismatch]", hs)
			}
		})
	}
}

func TestBackendUnreachable(t *testing.T) {
	var logs logBuffer
	e := newEnv(t, envOpts{backend: deadAddr(t), clientConfig: func(c *Config) { c.Logger = logs.logger() }})
	expectReset(t, e.upstream)
	eventually(t, "the reason to be logged", func() bool {
		return strings.Contains(logs.String(), "tunnel: stream refused: BACKEND_UNREACHABLE")
	})
	// With a second endpoint whose backend is up, the same attempt succeeds.
	good := newEnv(t, envOpts{ca: e.ca, backend: serve(t, echo)})
	e.resolver.set(e.server.Addr().String(), good.server.Addr().String())
	for range 2 { // the round robin starts on each endpoint once
		roundTrip(t, dial(t, e.upstream), "via the other endpoint")
	}
}
