package tunnel

import (
	"bytes"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestManyConcurrentStreams(t *testing.T) {
	const conns, size = 48, 256 << 10
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: func(c *Config) {
		c.StreamsPerSession = 8
		c.Logger = nil
	}, serverConfig: quiet})
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, e.upstream)
			data := make([]byte, size)
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			go func() {
				c.Write(data)
				c.CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("conn %d: echoed %d bytes, err %v; want the %d bytes sent", i, len(got), err, size)
			}
		}()
	}
	wg.Wait()
	if n := e.client.Status().Totals.OutboundTunnels; n < 1 || n > 8 {
		t.Errorf("%d outbound tunnels for %d streams at 8 per session, want 1..8 (SessionsPerPeer)", n, conns)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	backend, _ := heldBackend(t)
	e := newEnv(t, envOpts{backend: backend, clientConfig: quiet, serverConfig: quiet})
	for range 3 {
		c := dial(t, e.upstream)
		io.ReadFull(c, make([]byte, 5))
	}
	e.client.Close()
	e.server.Close()
	// What remains are the test's own listeners and held backend conns;
	// the tunnels' goroutines (accept loops, sessions, splices, yamux) are gone.
	deadline := time.Now().Add(waitLong)
	for {
		n := runtime.NumGoroutine()
		if n <= before+8 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
