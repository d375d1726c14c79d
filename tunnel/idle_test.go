package tunnel

import (
	"testing"
	"time"
)

// TestInboundIdleSessionClosed: a peer that opens sessions and leaves them
// idle has them closed by the callee after inboundIdleTimeout, whether
// they never carried a stream or carried one that ended; a session with an
// open stream is kept.
func TestInboundIdleSessionClosed(t *testing.T) {
	defer func(d time.Duration) { inboundIdleTimeout = d }(inboundIdleTimeout)
	inboundIdleTimeout = 300 * time.Millisecond
	e := newEnv(t, envOpts{backend: serve(t, echo)})

	bare := rawSession(t, e, idPay) // TLS + yamux, no stream at all
	used := rawSession(t, e, idPay)
	st, err := used.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	st.SetDeadline(time.Now().Add(waitLong))
	st.Write(mustHeader(t, payPort))
	if r, err := ReadReply(st); err != nil || r.Code != CodeOK {
		t.Fatalf("stream: %v %v", r.Code, err)
	}
	st.Close()
	if _, err := st.Read(make([]byte, 1)); err == nil {
		t.Fatal("the backend's end of the stream did not arrive")
	}

	// A real caller with a stream held open through the tunnel.
	c := dial(t, e.upstream)
	roundTrip(t, c, "held")

	time.Sleep(inboundIdleTimeout)
	e.server.sweepInbound(time.Now())
	eventually(t, "the idle sessions to be closed", func() bool { return bare.IsClosed() && used.IsClosed() })
	roundTrip(t, c, "still held")

	// The caller's session, once its stream is done, has only its control
	// stream left: it is idle too. The caller dials again when needed.
	c.Close()
	inbound := func() int {
		n := 0
		for _, s := range e.server.sessionList() {
			if s.direction == DirInbound && !s.ym.IsClosed() {
				n++
			}
		}
		return n
	}
	eventually(t, "the held stream to end", func() bool { return e.server.reg.len() == 0 })
	time.Sleep(inboundIdleTimeout)
	e.server.sweepInbound(time.Now())
	eventually(t, "the caller's idle session to be closed", func() bool { return inbound() == 0 })
	roundTrip(t, dial(t, e.upstream), "after the idle close")
}
