package tunnel

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// session is one yamux session over one mutual-TLS connection, in either
// direction. Immutable fields are set before it is shared.
type session struct {
	id        uint64
	direction string // DirOutbound: we dialed; DirInbound: we accepted
	source    string // the calling workload (local when outbound, the peer when inbound)
	target    string // the called workload (remote when outbound, local when inbound)
	addr      string // outbound: the dialed address (the pool key); inbound: the remote address
	ym        *yamux.Session
	conn      *tls.Conn
	cs        tls.ConnectionState
	openedAt  time.Time
	// expires is when the first of the two certificates this session
	// relies on expires (outbound only; zero = unknown).
	expires time.Time
	// renewAt is when the session stops taking new streams so that a new
	// one, made with the certificates then current, takes over well before
	// expires (zero = never). See renewTime.
	renewAt time.Time
	// hsStart is when the session's TLS handshake began. A session whose
	// handshake began before our certificate was (re)loaded may carry the
	// old certificate, so it is renewed (renewIfCertReplaced); comparing
	// times, not serials, also catches a handshake that was under way
	// while the certificate changed.
	hsStart time.Time
	// rec is the outbound session's connection under yamux, which knows
	// when bytes last arrived; nil inbound.
	rec *readErrConn

	// streams counts the streams reserved on an outbound session (guarded
	// by the pool's mutex for increments) or open on an inbound one.
	streams atomic.Int32
	// idleSince is when streams last dropped to 0 (unix ns), 0 = in use.
	// Inbound, the control stream does not count (inboundStreamDone).
	idleSince atomic.Int64
	// draining: no new stream may be opened on it (GoAway sent or received).
	draining atomic.Bool
	why      atomic.Pointer[string]

	ctrl   atomic.Pointer[yamux.Stream] // the control stream, nil until set up
	ctrlMu sync.Mutex                   // serializes control writes
	liveMu sync.Mutex                   // guards live
	live   map[uint32]*liveStream       // spliced streams by yamux stream ID
}

// closeWith closes the session for why (an End constant) unless it is
// already closed: GoAway first (yamux's Close sends none), then Close. Its
// streams see a dead session and reset their local conns.
//
// The TCP conn is closed before the TLS conn: tls.Conn.Close first writes
// a close_notify alert, which can block for seconds on a peer that stopped
// reading, and a peer sees a cut session as a dead one either way.
func (s *session) closeWith(why string) {
	s.why.CompareAndSwap(nil, &why)
	s.draining.Store(true)
	if !s.ym.IsClosed() {
		goAway(s.ym)
	}
	s.conn.NetConn().Close()
	s.ym.Close()
}

// closeReason is the reason the session was closed by us, "" otherwise.
func (s *session) closeReason() string {
	if p := s.why.Load(); p != nil {
		return *p
	}
	return ""
}

// goAway sends a GoAway without waiting longer than a moment for a stuck
// connection: yamux's GoAway blocks up to ConnectionWriteTimeout.
func goAway(ym *yamux.Session) {
	done := make(chan struct{})
	go func() {
		ym.GoAway()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(100 * time.Millisecond):
	}
}

// remoteAddr is the host:port of a conn's peer, "" when unknown.
func remoteAddr(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// localID is the local workload of s: the caller when outbound, the
// callee when inbound.
func (s *session) localID() string {
	if s.direction == DirInbound {
		return s.target
	}
	return s.source
}

// dataStreams counts s's streams other than its control stream (inbound
// sessions count every stream they serve, the control stream included).
func (s *session) dataStreams() int32 {
	n := s.streams.Load()
	if s.ctrl.Load() != nil {
		n--
	}
	return n
}
