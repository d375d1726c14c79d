package tunnel

import (
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"
)

// TestMaxStreamsInbound: streams across every session count against
// MaxStreams (control streams included) once their header is read and
// allowed; past it a stream is answered OVERLOADED after its header, with
// a logged reason and an access log line, and a freed slot is reusable. A
// stream that has sent no header holds no slot.
func TestMaxStreamsInbound(t *testing.T) {
	// The caller's control stream and the legitimate stream take two slots.
	h := newHostileEnv(t, func(c *Config) { c.MaxStreams = 3 })
	ym := rawSession(t, h.env, idPay)
	// From another peer: with MaxStreams 3 a peer may have one stream
	// awaiting its header (pendingPerPeer).
	silent, err := rawSessionAs(t, h.env, idOther).OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the silent stream to be pending", func() bool {
		n, _ := h.server.cfg.limits.pending.held(idOther)
		return n == 1
	})
	if n := h.server.streams.Load(); n != 2 {
		t.Fatalf("%d MaxStreams slots taken with a header-less stream pending, want 2", n)
	}
	held, err := ym.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	held.SetDeadline(time.Now().Add(waitLong))
	held.Write(mustHeader(t, payPort))
	if r, err := ReadReply(held); err != nil || r.Code != CodeOK {
		t.Fatalf("reply %v, %v for the stream taking the last slot; want OK", r.Code, err)
	}
	roundTrip(t, held, "through the last slot")
	st, err := ym.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	st.SetDeadline(time.Now().Add(waitLong))
	st.Write(mustHeader(t, payPort))
	if r, err := ReadReply(st); err != nil || r.Code != CodeOverloaded {
		t.Fatalf("reply %v, %v; want OVERLOADED", r.Code, err)
	}
	h.waitLog(t, "too many streams in all tunnels, stream refused", "limit=3")
	roundTrip(t, h.legit, "the legitimate stream still flows")
	held.Close() // the echo backend ends the stream: its slot is freed
	eventually(t, "the slot to free", func() bool { return h.server.streams.Load() == 2 })
	silent.Write(mustHeader(t, payPort)) // late, but within the header deadline
	silent.SetDeadline(time.Now().Add(waitLong))
	if r, err := ReadReply(silent); err != nil || r.Code != CodeOK {
		t.Fatalf("reply %v, %v after a slot freed; want OK", r.Code, err)
	}
	roundTrip(t, silent, "through the freed slot")
}

// TestMaxStreamsOutbound: app connections beyond MaxStreams are reset,
// logged and counted; the held one keeps flowing.
func TestMaxStreamsOutbound(t *testing.T) {
	var logs logBuffer
	refused := &refusalMetrics{}
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: func(c *Config) {
		c.MaxStreams = 1
		c.Logger = logs.logger()
		c.Metrics = refused
	}})
	held := dial(t, e.upstream)
	roundTrip(t, held, "hello")
	expectReset(t, e.upstream)
	waitLogged(t, &logs, "too many streams in all tunnels, connection reset", "limit=1")
	eventually(t, "the refusal to be counted", func() bool { return refused.n.Load() == 1 })
	roundTrip(t, held, "still flowing")
	held.Close()
	eventually(t, "the slot to free", func() bool { return e.client.streams.Load() == 0 })
	roundTrip(t, dial(t, e.upstream), "again")
}

type refusalMetrics struct {
	NopMetrics
	n atomic.Int32
}

func (m *refusalMetrics) UpstreamRefused(string, string) { m.n.Add(1) }

// TestStreamWindowBoundsBuffering: a stream whose reader stalls buffers at
// most StreamWindow bytes, even after its window has grown to the full size.
func TestStreamWindowBoundsBuffering(t *testing.T) {
	for _, window := range []int{256 << 10, 1 << 20} {
		t.Run(strconv.Itoa(window), func(t *testing.T) {
			a, b := net.Pipe()
			cfg := yamuxConfig(hclog.NewNullLogger(), window)
			cfg.EnableKeepAlive = false
			client, err := yamux.Client(a, cfg)
			if err != nil {
				t.Fatal(err)
			}
			server, err := yamux.Server(b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Close(); server.Close() })
			w, err := client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int64
			go func() {
				chunk := make([]byte, 16<<10)
				for {
					n, err := w.Write(chunk)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
			r, err := server.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			// Read the first window at full speed so the window grows to its
			// maximum, then stall.
			const read = 256 << 10
			if _, err := io.ReadFull(r, make([]byte, read)); err != nil {
				t.Fatal(err)
			}
			waitSettled(t, func() int64 { return sent.Load() })
			if buffered := sent.Load() - read; buffered > int64(window) || buffered < int64(window)/2 {
				t.Fatalf("%d bytes buffered for a stalled reader, want at most the window %d (and most of it)", buffered, window)
			}
		})
	}
}

// waitSettled waits until f stops changing for 200ms.
func waitSettled(tb testing.TB, f func() int64) {
	tb.Helper()
	last, since := f(), time.Now()
	deadline := time.Now().Add(waitLong)
	for time.Since(since) < 200*time.Millisecond {
		if time.Now().After(deadline) {
			tb.Fatalf("value still changing after %s", waitLong)
		}
		time.Sleep(10 * time.Millisecond)
		if v := f(); v != last {
			last, since = v, time.Now()
		}
	}
}

// TestSessionsPerPeerLimit: with every session to the only endpoint full
// (SessionsPerPeer x StreamsPerSession streams), one more app connection is
// reset with the pool's reason logged; a freed stream makes room again.
func TestSessionsPerPeerLimit(t *testing.T) {
	var logs logBuffer
	backend, _ := heldBackend(t)
	e := newEnv(t, envOpts{backend: backend, serverConfig: quiet, clientConfig: func(c *Config) {
		c.StreamsPerSession, c.SessionsPerPeer = 1, 2
		c.Logger = logs.logger()
	}})
	var held []net.Conn
	for range 2 {
		c := dial(t, e.upstream)
		if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
			t.Fatalf("read hello: %v", err)
		}
		held = append(held, c)
	}
	if n := e.client.Status().Totals.OutboundTunnels; n != 2 {
		t.Fatalf("%d outbound tunnels for 2 streams at 1 per session, want 2", n)
	}
	expectReset(t, e.upstream)
	waitLogged(t, &logs, "stream failed", "tunnel: session pool full")
	if n := e.client.Status().Totals.OutboundTunnels; n != 2 {
		t.Fatalf("%d outbound tunnels after the refusal, want still 2 (SessionsPerPeer)", n)
	}
	held[0].Close()
	eventually(t, "a stream slot to free", func() bool { return e.client.Status().Totals.OutboundStreams == 1 })
	c := dial(t, e.upstream)
	if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
		t.Fatalf("read hello after a slot freed: %v", err)
	}
}
