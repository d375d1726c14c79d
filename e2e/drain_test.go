package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hashBackend reads everything a caller sends and answers with its SHA-256
// in hex: the caller checks that every byte arrived intact.
func hashBackend(tb testing.TB) string {
	tb.Helper()
	return serveTCP(tb, func(c net.Conn) {
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			return
		}
		_, _ = io.WriteString(c, hex.EncodeToString(h.Sum(nil)))
	})
}

// TestDrainFinishesTransfer: SIGTERM to both agents in the middle of a
// 300 MiB transfer; the transfer completes intact and both exit 0. Agent a
// logs JSON; every line it printed must parse.
func TestDrainFinishesTransfer(t *testing.T) {
	bp := startBinaryPair(t, hashBackend(t), "json")

	c, err := net.Dial("tcp", bp.up)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 300 << 20
	rng := rand.NewChaCha8([32]byte{7})
	h := sha256.New()
	buf := make([]byte, 61<<10+3) // odd size
	sent := 0
	signalled := false
	for sent < total {
		n := min(len(buf), total-sent)
		_, _ = rng.Read(buf[:n])
		h.Write(buf[:n])
		if _, err := c.Write(buf[:n]); err != nil {
			t.Fatalf("write after %d bytes: %v", sent, err)
		}
		sent += n
		if !signalled && sent > 40<<20 {
			signalled = true
			_ = bp.a.cmd.Process.Signal(syscall.SIGTERM)
			_ = bp.b.cmd.Process.Signal(syscall.SIGTERM)
			// New connections are refused while draining.
			eventually(t, 5*time.Second, "upstream closed while draining", func() bool {
				c2, err := net.DialTimeout("tcp", bp.up, time.Second)
				if err != nil {
					return true
				}
				c2.Close()
				return false
			})
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read hash: %v", err)
	}
	if want := hex.EncodeToString(h.Sum(nil)); string(got) != want {
		t.Fatalf("backend hash %q, want %q", got, want)
	}
	for name, p := range map[string]*proc{"a": bp.a, "b": bp.b} {
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("agent %s exit code %d, want 0", name, code)
		}
	}

	lines := 0
	sc := bufio.NewScanner(strings.NewReader(bp.a.log.String()))
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
		}
	}
	if lines < 3 {
		t.Fatalf("only %d log lines", lines)
	}
}

// TestSecondSignalForcesExit: a stream that never ends holds the drain; a
// second SIGTERM stops the agent at once with exit code 1.
func TestSecondSignalForcesExit(t *testing.T) {
	bp := startBinaryPair(t, echoBackend(t), "text")
	c, err := net.Dial("tcp", bp.up)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil {
		t.Fatal(err)
	}
	_ = bp.a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-bp.a.done:
		t.Fatal("agent exited while a stream was open and the drain timeout (30s) had not passed")
	case <-time.After(500 * time.Millisecond):
	}
	start := time.Now()
	_ = bp.a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-bp.a.done:
	case <-time.After(5 * time.Second):
		t.Fatal("second SIGTERM did not stop the agent")
	}
	if code := bp.a.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	t.Logf("forced exit after %v", time.Since(start))
	// The cut stream reaches the app as a reset, not a clean end.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(one)
	wantReset(t, "", err)
}
