package discovery

import (
	"net"
	"sync"
	"testing"
	"time"
)

// TestShutdownDoesNotWaitForDeadSeeds: the join loop may be stuck dialling
// a seed that swallows connections; Shutdown must still return promptly.
func TestShutdownDoesNotWaitForDeadSeeds(t *testing.T) {
	// A listener that accepts and never answers: a push-pull waits for
	// TCPTimeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	cfg := nodeConfig("stuck")
	cfg.Join = []string{ln.Addr().String()}
	cfg.Timing.TCPTimeout = 20 * time.Second
	g := startNode(t, cfg)
	time.Sleep(200 * time.Millisecond) // the join is now in progress
	start := time.Now()
	if err := g.Shutdown(); err != nil {
		t.Fatal(err)
	}
	// Not a speed check: the stuck dial lasts 20 s, Shutdown must not.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Shutdown waited for the stuck join (%v)", took)
	}
}
