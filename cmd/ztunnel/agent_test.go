package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is an agent's stderr, read while the agent writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shutdownListener calls shutdown(2) on this process's socket listening on
// addr: its accept then fails with EINVAL, which no server retries.
func shutdownListener(t *testing.T, addr string) {
	t.Helper()
	want, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		if in4, ok := sa.(*syscall.SockaddrInet4); err != nil || !ok || in4.Port != want.Port {
			continue
		}
		if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil || v != 1 {
			continue // an accepted connection on the same port
		}
		if err := syscall.Shutdown(fd, syscall.SHUT_RDWR); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no listening socket on %s in this process", addr)
}

// TestAgentFatalRuntimeError: when the admin API's listener fails under a
// running `ztunnel agent`, it logs one line naming the failure, stops, and
// exits 2 (DESIGN §9), without waiting for a signal.
func TestAgentFatalRuntimeError(t *testing.T) {
	dir := pkiDir(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	writeTestFile(t, filepath.Join(dir, "policy.hcl"), `default = "deny"`)
	cfg := filepath.Join(dir, "agent.hcl")
	writeTestFile(t, cfg, strings.NewReplacer(
		`listen    = "127.0.0.1:15008"`, `listen = "127.0.0.1:0"`,
		`listen = "127.0.0.1:9001"`, `listen = "127.0.0.1:0"`,
	).Replace(cliConfig)+"\nadmin {\n  listen = \""+admin+"\"\n}\n")

	var stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run([]string{"agent", "--config", cfg}, &bytes.Buffer{}, &stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case c := <-code:
			t.Fatalf("agent exited %d before ready:\n%s", c, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent not ready:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	shutdownListener(t, admin)
	select {
	case c := <-code:
		if c != exitFatal {
			t.Fatalf("exit %d, want %d:\n%s", c, exitFatal, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("agent still running after its admin listener failed:\n%s", stderr.String())
	}
	logs := stderr.String()
	if want := "fatal runtime error, stopping: error=\"admin: API stopped serving: accept tcp " + admin; !strings.Contains(logs, want) {
		t.Fatalf("log lacks %q:\n%s", want, logs)
	}
	if strings.Count(logs, "admin: API stopped serving") != 1 {
		t.Errorf("the failure is logged more than once:\n%s", logs)
	}
}
