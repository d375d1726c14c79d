package tunnel

import (
	"crypto/tls"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// rawSession dials the callee of e as frontend and returns a yamux client
// session, for tests that speak the stream protocol by hand.
func rawSession(t *testing.T, e *env, target string) *yamux.Session {
	t.Helper()
	return rawSessionFrom(t, e, idFront, target)
}

// rawSessionFrom is rawSession as workload source (a certificate of e's CA).
func rawSessionFrom(t *testing.T, e *env, source, target string) *yamux.Session {
	t.Helper()
	store := newStore(t, e.ca, []*identitytest.CA{e.ca}, source)
	cfg, err := store.ClientConfig(source, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", e.server.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ym, err := yamux.Client(c, yamuxConfig(hclog.NewNullLogger(), DefaultConfig().StreamWindow))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ym.Close() })
	return ym
}

func TestStreamHeaderReplies(t *testing.T) {
	backend := serve(t, echo)
	ca := identitytest.NewCA(t, testTD)
	e := newEnv(t, envOpts{ca: ca, backend: backend, serverConfig: func(c *Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
		c.Exposes = []Expose{
			{Workload: idPay, Port: payPort, Backend: backend},
			{Workload: idOther, Port: 1, Backend: backend},
			{Workload: idOther, Port: 2, Backend: backend},
		}
		c.TLS = newStore(t, ca, []*identitytest.CA{ca}, idPay, idOther)
	}})
	for _, tc := range []struct {
		name   string
		target string
		send   []byte
		want   Reply // Code and Msg
		closed bool  // no reply: the stream is just closed
	}{
		{name: "ok", target: idPay, send: []byte{1, 0, 0x20, 0xfb, 0, 0}, want: Reply{Code: CodeOK, Msg: "8443"}},
		{name: "port 0 = only port", target: idPay, send: []byte{1, 0, 0, 0, 0, 0}, want: Reply{Code: CodeOK, Msg: "8443"}},
		{name: "port 0 of two", target: idOther, send: []byte{1, 0, 0, 0, 0, 0}, want: Reply{Code: CodeNoSuchPort}},
		{name: "no such port", target: idPay, send: []byte{1, 0, 0, 81, 0, 0}, want: Reply{Code: CodeNoSuchPort}},
		{name: "ignored ext", target: idPay, send: []byte{1, 0, 0x20, 0xfb, 0, 3, 77, 1, 0}, want: Reply{Code: CodeOK, Msg: "8443"}},
		{name: "bad ext", target: idPay, send: []byte{1, 0, 0x20, 0xfb, 0, 1, 77}, want: Reply{Code: CodeBadHeader}},
		{name: "version 2", target: idPay, send: []byte{2, 0, 0x20, 0xfb, 0, 0}, want: Reply{Code: CodeUnsupportedVersion}},
		{name: "control stream", target: idPay, send: []byte{1, FlagControl, 0, 0, 0, 0}, want: Reply{Code: CodeOK}},
		{name: "silent stream", target: idPay, send: nil, want: Reply{Code: CodeBadHeader}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ym := rawSession(t, e, tc.target)
			st, err := ym.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			st.SetDeadline(time.Now().Add(waitLong))
			st.Write(tc.send)
			got, err := ReadReply(st)
			if err != nil || got.Code != tc.want.Code || got.Msg != tc.want.Msg {
				t.Fatalf("reply %v %q, %v; want %v %q", got.Code, got.Msg, err, tc.want.Code, tc.want.Msg)
			}
			if got.Code != CodeOK {
				if _, err := io.ReadAll(st); err != nil {
					t.Fatalf("stream after %v ended with %v, want EOF", got.Code, err)
				}
			}
		})
	}
}

func TestRecheckClosesRevokedSessions(t *testing.T) {
	backend, ended := heldBackend(t)
	rt := &revocableTLS{}
	e := newEnv(t, envOpts{backend: backend, serverConfig: func(c *Config) {
		rt.TLSProvider = c.TLS
		c.TLS = rt
	}})
	c := dial(t, e.upstream)
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatalf("read hello: %v", err)
	}
	rt.revoked.Store(true)
	if n := e.server.Recheck(); n != 1 {
		t.Fatalf("Recheck cut %d streams, want 1", n)
	}
	if err := readErr(c); !isReset(err) {
		t.Fatalf("app read ended with %v, want a connection reset", err)
	}
	if err := <-ended; !isReset(err) {
		t.Fatalf("backend read ended with %v, want a connection reset", err)
	}
	eventually(t, "the revoked session to go", func() bool { return e.server.Status().Totals.Tunnels == 0 })
}

func TestClosePeer(t *testing.T) {
	backend, _ := heldBackend(t)
	e := newEnv(t, envOpts{backend: backend})
	c := dial(t, e.upstream)
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatalf("read hello: %v", err)
	}
	e.client.ClosePeer("127.0.0.1:1") // someone else: nothing happens
	if n := e.client.Status().Totals.Tunnels; n != 1 {
		t.Fatalf("%d tunnels after ClosePeer of another address, want 1", n)
	}
	e.client.ClosePeer(e.server.Addr().String())
	if err := readErr(c); !isReset(err) {
		t.Fatalf("app read ended with %v, want a connection reset", err)
	}
	// The next connection dials a new session.
	e2 := dial(t, e.upstream)
	if _, err := io.ReadFull(e2, make([]byte, 5)); err != nil {
		t.Fatalf("read hello after ClosePeer: %v", err)
	}
}

// revocableTLS is a TLSProvider whose Recheck fails once revoked is set.
type revocableTLS struct {
	TLSProvider
	revoked atomic.Bool
}

func (r *revocableTLS) Recheck(cs tls.ConnectionState) error {
	if r.revoked.Load() {
		return &identity.RejectError{Reason: identity.ReasonRevoked, Detail: "test: revoked"}
	}
	return r.TLSProvider.Recheck(cs)
}

func TestInboundStreamLimit(t *testing.T) {
	ca := identitytest.NewCA(t, testTD)
	e := newEnv(t, envOpts{ca: ca, backend: serve(t, echo), serverConfig: func(c *Config) { c.StreamsPerSession = 1 }})
	ym := rawSession(t, e, idPay)
	var held []*yamux.Stream
	for range 2 { // 2 x StreamsPerSession silent streams are accepted...
		st, err := ym.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, st)
	}
	eventually(t, "the streams to be taken", func() bool {
		ss := e.server.sessionList()
		return len(ss) == 1 && ss[0].streams.Load() == 2
	})
	st, err := ym.OpenStream() // ...the next one is refused at once
	if err != nil {
		t.Fatal(err)
	}
	st.SetDeadline(time.Now().Add(waitLong))
	if r, err := ReadReply(st); err != nil || r.Code != CodeOverloaded {
		t.Fatalf("reply %v, %v; want OVERLOADED", r.Code, err)
	}
	_ = held
}
