package agent

import (
	"context"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// breakListener makes the listening socket bound to addr in this process
// fail the way a broken socket does: shutdown(2) on a listening socket wakes
// its accept with EINVAL, which no server retries. It fails the test when
// no such socket is found.
func breakListener(tb testing.TB, addr net.Addr) {
	tb.Helper()
	want := addr.(*net.TCPAddr)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		tb.Skipf("no /proc/self/fd: %v", err)
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		in4, ok := sa.(*syscall.SockaddrInet4)
		if !ok || in4.Port != want.Port || !net.IP(in4.Addr[:]).Equal(want.IP) {
			continue
		}
		if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil || v != 1 {
			continue // an accepted connection on the same port
		}
		if err := syscall.Shutdown(fd, syscall.SHUT_RDWR); err != nil {
			tb.Fatalf("shutdown of the listener on %s: %v", addr, err)
		}
		return
	}
	tb.Fatalf("no listening socket on %s in this process", addr)
}

// TestAdminFailureIsFatal: when the admin API's listener fails under a
// running agent, Fatal delivers one error naming the admin API and the
// address; a Close or a Shutdown delivers nothing.
func TestAdminFailureIsFatal(t *testing.T) {
	a := startTestAgent(t, time.Hour)
	admin := a.AdminAddr()
	breakListener(t, admin)
	select {
	case err := <-a.Fatal():
		want := "admin: API stopped serving: accept tcp " + admin.String() + ": accept4: invalid argument"
		if err == nil || err.Error() != want {
			t.Fatalf("fatal error:\n got %v\nwant %s", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no fatal error after the admin listener failed")
	}
	select {
	case err := <-a.Fatal():
		t.Fatalf("a second fatal error: %v", err)
	default:
	}

	closed := startTestAgent(t, time.Hour)
	closed.Close()
	drained := startTestAgent(t, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := drained.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the serving goroutines have returned
	for name, b := range map[string]*Agent{"Close": closed, "Shutdown": drained} {
		select {
		case err := <-b.Fatal():
			t.Errorf("%s reported a fatal error: %v", name, err)
		default:
		}
	}
}
