package tunnel

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/policy"
)

// rawSessionAs dials the callee of e as workload id (a certificate of e's
// CA) and returns a yamux client session speaking the stream protocol by
// hand.
func rawSessionAs(t *testing.T, e *env, id string) *yamux.Session {
	t.Helper()
	return rawSessionFrom(t, e, id, idPay)
}

// silentStream is a stream opened without a header, and the reply it got.
type silentStream struct {
	opened  time.Time
	done    chan struct{} // closed once the reply (or an error) is read
	code    Code
	err     error
	replied time.Time
}

// openSilent opens a stream on ym that never sends its header and reads
// its reply in the background.
func openSilent(t *testing.T, ym *yamux.Session) *silentStream {
	t.Helper()
	st, err := ym.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	s := &silentStream{opened: time.Now(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		st.SetReadDeadline(time.Now().Add(waitLong))
		r, err := ReadReply(st)
		s.code, s.err, s.replied = r.Code, err, time.Now()
	}()
	return s
}

func (s *silentStream) answered() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// TestHeaderlessStreamsCannotStarveCallers: a peer with a valid
// certificate (idOther) opens header-less streams on several sessions, far
// past its pending quota and past MaxStreams. It gets its quota of pending
// streams, OVERLOADED for the rest (logged once, naming it and the limit),
// and its pending streams are shed at the header deadline; meanwhile every
// one of the legitimate caller's new connections (idFront -> idPay)
// succeeds. It never finishes (FINs) the streams refused to it, so each of
// its sessions is closed refusedLinger after a refusal. Then it does it
// again on new sessions, as an attacker would every HandshakeTimeout, with
// the same result.
func TestHeaderlessStreamsCannotStarveCallers(t *testing.T) {
	// Past the header deadline, so that pending streams are shed by it
	// before the sessions of a caller that never finishes refused streams
	// are closed.
	defer func(d time.Duration) { refusedLinger = d }(refusedLinger)
	refusedLinger = 2600 * time.Millisecond
	const (
		maxStreams = 16
		perSession = 4 // an inbound session takes 8 streams
		quota      = 4 // min(2 x perSession, maxStreams/4)
		sessions   = 5 // 5 x 9 streams: past MaxStreams before the fix
		perSess    = 2*perSession + 1
		legitTries = 20
		hsTimeout  = 2 * time.Second
	)
	for _, tc := range []struct {
		name  string
		allow func(policy.Request) bool
	}{
		{"peer allowed nothing", func(r policy.Request) bool { return r.From == idFront }},
		{"peer allowed but sends no header", func(policy.Request) bool { return true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostileEnv(t, func(c *Config) {
				c.MaxStreams, c.StreamsPerSession, c.HandshakeTimeout = maxStreams, perSession, hsTimeout
				c.Authorize = func(r policy.Request) policy.Decision {
					if tc.allow(r) {
						return policy.Decision{Allow: true, Rule: "allow"}
					}
					return policy.Decision{Rule: "default"}
				}
			})
			if tc.name == "peer allowed nothing" {
				ym := rawSessionAs(t, h.env, idOther)
				st, err := ym.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				st.SetDeadline(time.Now().Add(waitLong))
				st.Write(mustHeader(t, payPort))
				if r, err := ReadReply(st); err != nil || r.Code != CodeDenied {
					t.Fatalf("abuser's stream with a header: reply %v, %v; want DENIED", r.Code, err)
				}
				st.Close() // a well-behaved caller finishes a refused stream: its session stays
				time.Sleep(refusedLinger + 300*time.Millisecond)
				if ym.IsClosed() {
					t.Fatal("the session of a caller that finished its refused stream was closed")
				}
			}
			for round := 1; round <= 2; round++ {
				var yms []*yamux.Session
				for range sessions {
					yms = append(yms, rawSessionAs(t, h.env, idOther))
				}
				var flood []*silentStream
				for _, ym := range yms {
					for range perSess {
						flood = append(flood, openSilent(t, ym))
					}
				}
				// The refusals are immediate; what is left waits for its header.
				time.Sleep(300 * time.Millisecond)
				var held []*silentStream
				for _, s := range flood {
					if !s.answered() {
						held = append(held, s)
					} else if s.err != nil || s.code != CodeOverloaded {
						t.Fatalf("round %d: refused abuser stream: reply %v, %v; want OVERLOADED", round, s.code, s.err)
					}
				}
				t.Logf("round %d: abuser opened %d header-less streams on %d sessions: %d pending, %d OVERLOADED",
					round, len(flood), sessions, len(held), len(flood)-len(held))

				ok := 0
				for i := range legitTries {
					if err := tryRoundTrip(h.upstream, "legit "+strconv.Itoa(i)); err != nil {
						t.Errorf("round %d: legitimate attempt %d under attack: %v", round, i, err)
						continue
					}
					ok++
				}
				roundTrip(t, h.legit, "held connection under attack")
				stillHeld := 0
				for _, s := range held {
					if !s.answered() {
						stillHeld++
					}
				}
				t.Logf("round %d: %d/%d legitimate attempts succeeded while the abuser held %d pending streams",
					round, ok, legitTries, stillHeld)
				if stillHeld != len(held) {
					t.Fatalf("round %d: only %d of %d pending streams were still held after the legitimate attempts: the check proves nothing", round, stillHeld, len(held))
				}
				if len(held) != quota {
					t.Fatalf("round %d: the abuser holds %d header-less streams, want its quota %d", round, len(held), quota)
				}
				h.waitLog(t, "too many streams awaiting their header from one peer, streams refused",
					"peer="+idOther, "limit="+strconv.Itoa(quota))

				// Shed at the header deadline, not before.
				for _, s := range held {
					<-s.done
					if s.err != nil || s.code != CodeBadHeader {
						t.Fatalf("round %d: pending stream: reply %v, %v; want BAD_HEADER at the deadline", round, s.code, s.err)
					}
					if d := s.replied.Sub(s.opened); d < hsTimeout-100*time.Millisecond || d > hsTimeout+time.Second {
						t.Fatalf("round %d: pending stream shed after %v, want about the header deadline %v", round, d, hsTimeout)
					}
				}
				h.waitLog(t, "bad stream header", "i/o deadline reached")
				eventually(t, "the abuser's pending streams to be released", func() bool {
					n, total := h.server.cfg.limits.pending.held(idOther)
					return n == 0 && total == 0
				})
				// It never finished the refused streams: its sessions are closed.
				eventually(t, "the abuser's sessions to be closed", func() bool {
					for _, ym := range yms {
						if !ym.IsClosed() {
							return false
						}
					}
					return true
				})
				h.waitLog(t, "peer did not finish a refused stream in time, closing its tunnel", "peer="+idOther)
			}
			if n := strings.Count(h.logs.String(), "too many streams awaiting their header from one peer"); n > 2 {
				t.Fatalf("the pending-quota refusal was logged %d times in two floods, want once per flood", n)
			}
			h.checkUndisturbed(t, "two floods of header-less streams")
		})
	}
}

// tryRoundTrip connects to addr and checks the echo of msg.
func tryRoundTrip(addr, msg string) error {
	c, err := net.DialTimeout("tcp", addr, waitLong)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLong))
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	if string(buf) != msg {
		return fmt.Errorf("echo %q, want %q", buf, msg)
	}
	return nil
}

// TestQuota: the per-key and total bounds, the log rate limit and its
// count of unlogged refusals, and that a key holding nothing is forgotten.
func TestQuota(t *testing.T) {
	now := time.Unix(1000, 0)
	q := newQuota[string](2, 3)
	take := func(key string, want quotaResult, wantLog bool, wantQuiet int) {
		t.Helper()
		res, log, quiet := q.take(key, now)
		if res != want || log != wantLog || quiet != wantQuiet {
			t.Fatalf("take(%q) = %v, %v, %d; want %v, %v, %d", key, res, log, quiet, want, wantLog, wantQuiet)
		}
	}
	take("a", quotaOK, false, 0)
	take("a", quotaOK, false, 0)
	take("a", quotaKeyFull, true, 0)  // logged
	take("a", quotaKeyFull, false, 0) // within quotaLogEvery: not logged
	take("a", quotaKeyFull, false, 0)
	take("b", quotaOK, false, 0)
	take("c", quotaTotalFull, true, 0)
	take("b", quotaTotalFull, false, 0)
	now = now.Add(quotaLogEvery)
	take("a", quotaKeyFull, true, 2) // the two unlogged ones are counted
	take("c", quotaTotalFull, true, 1)
	q.release("a")
	take("c", quotaOK, false, 0)
	for _, k := range []string{"a", "b", "c"} {
		q.release(k)
	}
	q.release("nobody") // a key that holds nothing is ignored
	if n, total := q.held("a"); n != 0 || total != 0 {
		t.Fatalf("after releasing everything: a holds %d, %d in all; want 0, 0", n, total)
	}
	if len(q.keys) != 0 {
		t.Fatalf("%d keys remembered after every slot was released, want 0", len(q.keys))
	}
}
