package tunnel

import (
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// How a stream ended, as written to the access log ("end" key).
const (
	EndClosed       = "closed"        // both sides finished cleanly
	EndReset        = "reset"         // a side reset, or the tunnel died
	EndDenied       = "denied"        // the policy refused it at open
	EndRefused      = "refused"       // the far agent or a limit refused it at open
	EndPolicyChange = "policy_change" // Recheck: the new policy denies it
	EndRevoked      = "revoked"       // Recheck: the peer's certificate is no longer valid
	EndPeerGone     = "peer_gone"     // ClosePeer: discovery says the peer is dead
	EndShutdown     = "shutdown"      // cut by Shutdown's deadline or Close
)

// liveStream is one spliced stream, registered for Recheck, Status and
// the access log. Immutable fields are set before registration.
type liveStream struct {
	id        uint64
	direction string // DirOutbound: local app -> tunnel; DirInbound: tunnel -> backend
	source    string // SPIFFE ID of the calling workload
	target    string // SPIFFE ID of the called workload
	port      int    // the target's port (0 when it was never learned)
	rule      string
	start     time.Time
	sess      *session
	local     net.Conn // the app conn (outbound) or backend conn (inbound)
	stream    *yamux.Stream

	bytesOut atomic.Int64 // local -> tunnel
	bytesIn  atomic.Int64 // tunnel -> local
	cutWhy   atomic.Pointer[string]
	cutRule  atomic.Pointer[string] // the rule whose deny cut it (Recheck), nil otherwise
	ended    sync.Once              // endLocal/endRemote act once
	drain    atomic.Bool            // we sent RESET: drain until the peer's FIN
}

// cut ends the stream for why (one of the End constants) unless it was
// already cut, as endLocal does. It reports whether this call cut it.
func (ls *liveStream) cut(why string) bool {
	if !ls.cutWhy.CompareAndSwap(nil, &why) {
		return false
	}
	ls.endLocal()
	return true
}

// endLocal ends the stream from our side (the local conn failed, or cut):
// the local conn is reset and the peer is told with a RESET record; our
// FIN waits for the peer's (splice drains up to resetLinger). Without a
// control stream the stream is closed, which the peer sees as a FIN.
// Only the first of endLocal and endRemote acts.
func (ls *liveStream) endLocal() {
	ls.ended.Do(func() {
		resetConn(ls.local)
		if ls.sess.sendReset(ls.stream.StreamID()) {
			ls.drain.Store(true)
			ls.stream.SetWriteDeadline(time.Now())
			ls.stream.SetReadDeadline(time.Now().Add(resetLinger))
			return
		}
		ls.stopStream()
	})
}

// endRemote ends the stream because the tunnel side failed or the peer
// sent RESET: the local conn is reset and the stream closed.
func (ls *liveStream) endRemote() {
	ls.ended.Do(func() {
		resetConn(ls.local)
		ls.stopStream()
	})
}

// stopStream closes the stream and wakes its blocked reads and writes (a
// half-closed yamux stream still delivers reads).
func (ls *liveStream) stopStream() {
	ls.stream.Close()
	ls.stream.SetDeadline(time.Now())
}

// cutReason is the reason given to cut, "" when it was never cut.
func (ls *liveStream) cutReason() string {
	if p := ls.cutWhy.Load(); p != nil {
		return *p
	}
	return ""
}

// registry holds the live streams. mu guards streams.
type registry struct {
	mu      sync.Mutex
	streams map[uint64]*liveStream
}

func newRegistry() *registry { return &registry{streams: map[uint64]*liveStream{}} }

func (r *registry) add(ls *liveStream) {
	r.mu.Lock()
	r.streams[ls.id] = ls
	r.mu.Unlock()
}

func (r *registry) remove(ls *liveStream) {
	r.mu.Lock()
	delete(r.streams, ls.id)
	r.mu.Unlock()
}

func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.streams)
}

// snapshot returns the live streams ordered by id.
func (r *registry) snapshot() []*liveStream {
	r.mu.Lock()
	out := make([]*liveStream, 0, len(r.streams))
	for _, ls := range r.streams {
		out = append(out, ls)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// onSession counts the live streams riding s.
func (r *registry) onSession(s *session) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ls := range r.streams {
		if ls.sess == s {
			n++
		}
	}
	return n
}
