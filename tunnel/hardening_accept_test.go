package tunnel

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSilentFloodShedByHandshakeTimeout: a flood of TCP connections that
// never speak is shed by the handshake timeout, while a stream on an
// existing session and a brand-new handshake both succeed during it. The
// flood comes from four other IPs, each within its share of handshakes
// (TestHandshakesPerSourceIP tests that share).
func TestSilentFloodShedByHandshakeTimeout(t *testing.T) {
	const flood = 100
	h := newHostileEnv(t, func(c *Config) { c.HandshakeTimeout = 2 * time.Second })
	addr := h.server.Addr().String()
	conns := make([]*net.TCPConn, flood)
	for i := range conns {
		c, err := dialFrom(t, "127.0.0."+strconv.Itoa(2+i%4), addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		conns[i] = c
	}
	eventually(t, "the flood to hold handshake slots", func() bool { return len(h.server.hsSem) == flood })
	// Real traffic during the flood: the open stream, a new stream on the
	// pooled session, and a new session (a full handshake).
	roundTrip(t, h.legit, "during the flood")
	roundTrip(t, dial(t, h.upstream), "new stream during the flood")
	roundTrip(t, dial(t, newCaller(t, h.env)), "new session during the flood")
	if n := len(h.server.hsSem); n < flood {
		t.Fatalf("only %d silent connections were still pending when the real traffic was checked; want %d (the check proves nothing)", n, flood)
	}

	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ne net.Error
			if err := readErr(c); errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("silent conn %d was never closed by the callee", i)
			}
		}()
	}
	wg.Wait()
	eventually(t, "every silent conn to be counted", func() bool {
		hs, _ := h.serverMetrics.snapshot()
		n := 0
		for _, s := range hs {
			if s == "inbound/failed/handshake_timeout" {
				n++
			}
		}
		return n == flood && len(h.server.hsSem) == 0
	})
	h.waitLog(t, "TLS handshake not finished within 2s")
	h.checkUndisturbed(t, "the flood")
}

const emfileChildEnv = "ZTUNNEL_TEST_EMFILE_CHILD"

// TestAcceptBackoffOnEMFILE runs in a child process (the test binary
// re-executed) that lowers RLIMIT_NOFILE and uses up its descriptors: both
// accept loops must back off (5 ms doubling) instead of spinning, and serve
// the waiting connections once descriptors are free again.
func TestAcceptBackoffOnEMFILE(t *testing.T) {
	if os.Getenv(emfileChildEnv) != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptBackoffOnEMFILE$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child process failed: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "emfile:") {
				t.Log(strings.TrimSpace(l))
			}
		}
		return
	}
	var slog, clog logBuffer
	e := newEnv(t, envOpts{backend: serve(t, echo),
		serverConfig: func(c *Config) { c.Logger = slog.logger() },
		clientConfig: func(c *Config) { c.Logger = clog.logger() }})
	legit := dial(t, e.upstream)
	roundTrip(t, legit, "before")

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = uint64(len(fds) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	var hogs []*os.File
	freeOne := func() {
		hogs[len(hogs)-1].Close()
		hogs = hogs[:len(hogs)-1]
	}
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("hogging descriptors: %v, want EMFILE", err)
			}
			break
		}
		hogs = append(hogs, f)
	}
	t.Logf("emfile: limit %d, %d descriptors hogged", lim.Cur, len(hogs))

	// One descriptor for the dial; the callee's accept then has none.
	freeOne()
	raw, err := net.Dial("tcp", e.server.Addr().String())
	if err != nil {
		t.Fatalf("dial tunnel port: %v", err)
	}
	defer raw.Close()
	eventually(t, "the tunnel port's accept to fail and back off", func() bool {
		return contains(slog.String(), "retry_in=20ms")
	})
	// And an app connection to the upstream listener, whose accept fails too.
	freeOne()
	app, err := net.Dial("tcp", e.upstream)
	if err != nil {
		t.Fatalf("dial upstream: %v", err)
	}
	defer app.Close()
	app.SetDeadline(time.Now().Add(waitLong))
	eventually(t, "the upstream's accept to fail and back off", func() bool {
		return contains(clog.String(), "retry_in=20ms")
	})
	time.Sleep(300 * time.Millisecond) // a spinning loop would log thousands of lines
	for _, l := range []struct {
		name string
		logs *logBuffer
		msg  string
	}{{"tunnel port", &slog, "accept failed"}, {"upstream", &clog, "upstream accept failed"}} {
		s := l.logs.String()
		if !contains(s, "too many open files") {
			t.Fatalf("%s: the accept failure does not name EMFILE:\n%s", l.name, s)
		}
		if n := strings.Count(s, l.msg); n > 12 {
			t.Fatalf("%s: %d accept failures logged within about half a second: the loop does not back off", l.name, n)
		}
		t.Logf("emfile: %s: %d accept failures logged before descriptors were freed", l.name, strings.Count(s, l.msg))
	}
	for len(hogs) > 0 {
		freeOne()
	}
	// The app connection that waited in the backlog is served...
	roundTrip(t, app, "served once descriptors are free")
	// ...the tunnel port accepts (the waiting conn is silent: it is shed),
	// and a new session's handshake succeeds.
	roundTrip(t, dial(t, newCaller(t, e)), "new session after EMFILE")
	roundTrip(t, legit, "after")
}

// newCaller starts another caller agent of e's callee and returns its
// upstream address: its first connection runs a new TLS handshake.
func newCaller(t *testing.T, e *env) string {
	t.Helper()
	c := newEnv(t, envOpts{ca: e.ca, noServer: true, clientConfig: quiet})
	c.resolver.set(e.server.Addr().String())
	return c.upstream
}
