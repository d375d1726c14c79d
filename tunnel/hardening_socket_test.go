package tunnel

import (
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// hostileEnv is an env whose callee logs to a buffer, with one legitimate
// connection through the tunnel held open for the whole test.
type hostileEnv struct {
	*env
	logs  *logBuffer
	legit net.Conn
}

func newHostileEnv(t *testing.T, serverConfig func(*Config)) *hostileEnv {
	t.Helper()
	logs := &logBuffer{}
	e := newEnv(t, envOpts{backend: serve(t, echo), serverConfig: func(c *Config) {
		c.Logger = logs.logger()
		if serverConfig != nil {
			serverConfig(c)
		}
	}})
	h := &hostileEnv{env: e, logs: logs, legit: dial(t, e.upstream)}
	roundTrip(t, h.legit, "before")
	return h
}

// checkUndisturbed asserts that the legitimate connection opened before the
// hostile input still carries bytes, and that a new one works too.
func (h *hostileEnv) checkUndisturbed(t *testing.T, what string) {
	t.Helper()
	roundTrip(t, h.legit, "still there after "+what)
	roundTrip(t, dial(t, h.upstream), "new after "+what)
}

// waitLog waits for the callee's log to contain every one of subs.
func (h *hostileEnv) waitLog(t *testing.T, subs ...string) {
	t.Helper()
	waitLogged(t, h.logs, subs...)
}

// waitLogged waits for logs to contain every one of subs (a metric may be
// recorded a moment before its log line).
func waitLogged(t *testing.T, logs *logBuffer, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		s := logs.String()
		missing := ""
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				missing = sub
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", missing, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTunnelPortHostileBytes sends what is not a ztunnel TLS client to the
// tunnel port: each is closed with a logged, counted reason while a
// legitimate stream keeps flowing.
func TestTunnelPortHostileBytes(t *testing.T) {
	h := newHostileEnv(t, func(c *Config) { c.HandshakeTimeout = time.Second })
	addr := h.server.Addr().String()
	random := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name   string
		send   func(t *testing.T) error // returns how the connection ended
		reason identity.Reason
		log    string
	}{
		{name: "random bytes", send: func(t *testing.T) error {
			c := dial(t, addr)
			c.Write(random)
			return readErr(c)
		}, reason: ReasonNotTLS, log: "tunnel handshake refused"},
		{name: "HTTP request", send: func(t *testing.T) error {
			c := dial(t, addr)
			c.Write([]byte("GET / HTTP/1.1\r\nHost: payments\r\n\r\n"))
			return readErr(c)
		}, reason: ReasonNotTLS, log: "does not look like a TLS handshake"},
		{name: "TLS client without a certificate", send: func(t *testing.T) error {
			return rawTLSDial(t, addr, rawTLSClient())
		}, reason: identity.ReasonNoCertificate, log: "reason=no_certificate"},
		{name: "TLS 1.2 client", send: func(t *testing.T) error {
			cfg := rawTLSClient()
			cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			return rawTLSDial(t, addr, cfg)
		}, reason: ReasonTLSVersion, log: "unsupported versions"},
		{name: "ClientHello then silence", send: func(t *testing.T) error {
			c := dial(t, addr)
			// A real ClientHello, then nothing: the handshake timeout ends it.
			tc := tls.Client(&writeOnly{c}, rawTLSClient())
			go tc.Handshake()
			return readErr(c)
		}, reason: ReasonHandshakeTimeout, log: "TLS handshake not finished within 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs0, _ := h.serverMetrics.snapshot()
			if err := tc.send(t); err == nil {
				// A clean close by the callee is a refusal too; a read
				// deadline or a successful session is not.
			} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the callee never closed the connection: %v", err)
			}
			want := "inbound/failed/" + string(tc.reason)
			eventually(t, "the refusal to be counted", func() bool {
				hs, _ := h.serverMetrics.snapshot()
				return len(hs) > len(hs0)
			})
			hs, _ := h.serverMetrics.snapshot()
			if got := hs[len(hs0)]; got != want {
				t.Fatalf("handshake counted as %s, want %s", got, want)
			}
			h.waitLog(t, "tunnel handshake refused", tc.log)
			h.checkUndisturbed(t, tc.name)
		})
	}
}

// writeOnly hides a conn's reads from a TLS client, so that it sends its
// ClientHello and then waits forever for the server's answer.
type writeOnly struct{ net.Conn }

func (w *writeOnly) Read([]byte) (int, error) { select {} }

// TestValidPeerBadStreams is a valid peer misbehaving inside its tunnel:
// each bad stream is answered with its status and a logged reason, and
// the legitimate stream (on another session) is undisturbed.
func TestValidPeerBadStreams(t *testing.T) {
	h := newHostileEnv(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	for _, tc := range []struct {
		name  string
		send  []byte
		fin   bool // half-close after send
		code  Code
		log   string
		after func(t *testing.T, st *yamux.Stream)
	}{
		{name: "oversized header", send: []byte{1, 0, 0x20, 0xfb, 0x04, 0x01}, code: CodeBadHeader,
			log: "extension of 1025 bytes, limit 1024"},
		{name: "maximal ext_len, short body then FIN", send: []byte{1, 0, 0x20, 0xfb, 0xff, 0xff, 1, 2}, fin: true,
			code: CodeBadHeader, log: "extension of 65535 bytes"},
		{name: "truncated fixed header then FIN", send: []byte{1, 0}, fin: true, code: CodeBadHeader,
			log: "bad stream header: unexpected EOF"},
		{name: "ext shorter than ext_len then FIN", send: []byte{1, 0, 0x20, 0xfb, 0, 8, 1, 1, 0}, fin: true,
			code: CodeBadHeader, log: "extension: unexpected EOF"},
		{name: "TLV overrunning ext", send: []byte{1, 0, 0x20, 0xfb, 0, 4, 7, 9, 0, 0}, code: CodeBadHeader,
			log: "overruns by 7 bytes"},
		{name: "version 0", send: []byte{0, 0, 0x20, 0xfb, 0, 0}, code: CodeUnsupportedVersion,
			log: "unsupported wire version: version 0"},
		{name: "version 255", send: []byte{255, 0, 0x20, 0xfb, 0, 0}, code: CodeUnsupportedVersion,
			log: "unsupported wire version: version 255"},
		{name: "header never sent", code: CodeBadHeader, log: "i/o deadline reached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ym := rawSession(t, h.env, idPay)
			st, err := ym.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			st.SetDeadline(time.Now().Add(waitLong))
			if len(tc.send) > 0 {
				if _, err := st.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fin {
				st.Close() // yamux Close is a half-close
			}
			r, err := ReadReply(st)
			if err != nil || r.Code != tc.code {
				t.Fatalf("reply %v, %v; want %v", r.Code, err, tc.code)
			}
			if _, err := io.ReadAll(st); err != nil {
				t.Fatalf("stream after %v ended with %v, want a clean close", r.Code, err)
			}
			h.waitLog(t, "bad stream header", tc.log)
			if ym.IsClosed() {
				t.Fatal("the callee closed the whole session for one bad stream")
			}
			h.checkUndisturbed(t, tc.name)
		})
	}
}

// TestPeerOpensStreamsFasterThanItReads: a valid peer opens streams with
// data for the echo backend and never reads the echoes. Past the session's
// stream limit it is refused OVERLOADED (logged), its unread streams hold
// at most a window each, and other traffic flows.
func TestPeerOpensStreamsFasterThanItReads(t *testing.T) {
	const perSession = 4
	h := newHostileEnv(t, func(c *Config) { c.StreamsPerSession = perSession })
	ym := rawSession(t, h.env, idPay)
	payload := make([]byte, 64<<10)
	for i := range 2 * perSession {
		st, err := ym.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		st.SetWriteDeadline(time.Now().Add(waitLong))
		hdr := mustHeader(t, payPort)
		if _, err := st.Write(append(hdr, payload...)); err != nil {
			t.Fatalf("stream %d: write: %v", i, err)
		}
	}
	eventually(t, "the greedy streams to be taken", func() bool {
		for _, s := range h.server.sessionList() {
			if s.source == idFront && s.streams.Load() == 2*perSession {
				return true
			}
		}
		return false
	})
	for i := range 3 {
		st, err := ym.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		st.SetDeadline(time.Now().Add(waitLong))
		st.Write(mustHeader(t, payPort))
		if r, err := ReadReply(st); err != nil || r.Code != CodeOverloaded {
			t.Fatalf("extra stream %d: reply %v, %v; want OVERLOADED", i, r.Code, err)
		}
	}
	h.waitLog(t, "too many streams on one tunnel, stream refused", "limit="+strconv.Itoa(2*perSession))
	h.checkUndisturbed(t, "a stream flood")
}

// mustHeader is a version-1 stream header for port.
func mustHeader(t *testing.T, port int) []byte {
	t.Helper()
	b, err := AppendHeader(nil, Header{Version: WireVersion, Port: uint16(port)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
