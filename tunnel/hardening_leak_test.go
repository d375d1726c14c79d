package tunnel

import (
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoLeakAfterManyStreams opens and closes many streams through a real
// tunnel pair (upstream listener, TLS + yamux session, backend) from
// several concurrent clients, then checks that goroutines and open file
// descriptors return to where they were.
func TestNoLeakAfterManyStreams(t *testing.T) {
	// 100,000 streams take about 30 s on 2 busy cores; the race detector
	// makes each about 10x slower, so -race and -short run 10,000.
	// ZTUNNEL_LEAK_STREAMS overrides both.
	total := 100_000
	if testing.Short() || raceEnabled {
		total = 10_000
	}
	if v := os.Getenv("ZTUNNEL_LEAK_STREAMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ZTUNNEL_LEAK_STREAMS=%q is not a positive number", v)
		}
		total = n
	}
	const workers = 16
	e := newEnv(t, envOpts{backend: serve(t, echo), clientConfig: quiet, serverConfig: quiet})
	stream := func(tb testing.TB, i int) {
		c, err := net.DialTimeout("tcp", e.upstream, waitLong)
		if err != nil {
			tb.Errorf("stream %d: dial: %v", i, err)
			return
		}
		c.SetDeadline(time.Now().Add(waitLong))
		msg := []byte{byte(i), byte(i >> 8), byte(i >> 16), 0}
		if _, err := c.Write(msg); err != nil {
			tb.Errorf("stream %d: write: %v", i, err)
			c.Close()
			return
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != string(msg) {
			tb.Errorf("stream %d: echo %v, %v; want %v", i, got, err, msg)
		}
		c.Close()
	}
	run := func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > n || t.Failed() {
						return
					}
					stream(t, i)
				}
			}()
		}
		wg.Wait()
	}
	// Warm up: the session and the pools exist before the baseline.
	run(workers * 4)
	g0, f0 := settle(t, -1, -1)
	start := time.Now()
	run(total)
	elapsed := time.Since(start)
	if t.Failed() {
		return
	}
	g1, f1 := settle(t, g0, f0)
	t.Logf("%d streams by %d clients in %s; goroutines %d -> %d, open fds %d -> %d",
		total, workers, elapsed.Round(time.Millisecond), g0, g1, f0, f1)
}

// settle waits until the goroutine count and open descriptors have not
// changed for half a second (and, given a baseline, are back within a
// small slack of it), and returns them.
func settle(tb testing.TB, g0, f0 int) (g, f int) {
	tb.Helper()
	const slack = 4
	deadline := time.Now().Add(2 * waitLong)
	same := 0
	for {
		// Go caches splice pipes (the echo backend's io.Copy between TCP
		// conns) in a sync.Pool whose descriptors close only when a GC
		// clears it: two GCs empty the pool and its victim cache.
		runtime.GC()
		runtime.GC()
		ng, nf := runtime.NumGoroutine(), openFDs(tb)
		if ng == g && nf == f {
			same++
		} else {
			g, f, same = ng, nf, 0
		}
		if same >= 5 && (g0 < 0 || (g <= g0+slack && f <= f0+slack)) {
			return g, f
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("goroutines %d (baseline %d), open fds %d (baseline %d) did not settle:\n%s\n%s",
				g, g0, f, f0, fdList(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openFDs(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

// fdList describes the open descriptors, for a failure message.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b []byte
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		b = append(b, e.Name()+" -> "+l+"\n"...)
	}
	tcp, _ := os.ReadFile("/proc/self/net/tcp")
	return string(b) + string(tcp)
}
