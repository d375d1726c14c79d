package tunnel

import (
	"io"
	"net"
	"testing"
)

// held is a backend that answers "hello", then holds the conn open until
// the test ends, reporting how its read side ended.
func heldBackend(t *testing.T) (addr string, ended chan error) {
	ended = make(chan error, 4)
	addr = serve(t, func(c *net.TCPConn) {
		c.Write([]byte("hello"))
		ended <- readErr(c)
	})
	return addr, ended
}

func TestTruncationReachesAppAsReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(e *env)
	}{
		{"callee tunnel closed", func(e *env) { e.server.Close() }},
		{"callee sessions' TCP closed", func(e *env) {
			for _, s := range e.server.sessionList() {
				s.conn.NetConn().Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, _ := heldBackend(t)
			e := newEnv(t, envOpts{backend: backend})
			c := dial(t, e.upstream)
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatalf("read hello: %v", err)
			}
			tc.kill(e)
			if err := readErr(c); !isReset(err) {
				t.Fatalf("app read ended with %v, want a connection reset", err)
			}
		})
	}
}

func TestTruncationReachesBackendAsReset(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(e *env)
	}{
		{"caller tunnel closed", func(e *env) { e.client.Close() }},
		{"caller sessions' TCP closed", func(e *env) {
			for _, s := range e.client.sessionList() {
				s.conn.NetConn().Close()
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend, ended := heldBackend(t)
			e := newEnv(t, envOpts{backend: backend})
			c := dial(t, e.upstream)
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatalf("read hello: %v", err)
			}
			tc.kill(e)
			if err := <-ended; !isReset(err) {
				t.Fatalf("backend read ended with %v, want a connection reset", err)
			}
		})
	}
}

func TestAppResetReachesBackend(t *testing.T) {
	backend, ended := heldBackend(t)
	e := newEnv(t, envOpts{backend: backend})
	c := dial(t, e.upstream)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read hello: %v", err)
	}
	resetConn(c)
	if err := <-ended; !isReset(err) {
		t.Fatalf("backend read ended with %v, want a connection reset", err)
	}
	eventually(t, "the stream to leave both registries", func() bool {
		return e.client.reg.len() == 0 && e.server.reg.len() == 0
	})
}

func TestBackendResetReachesApp(t *testing.T) {
	backend := serve(t, func(c *net.TCPConn) {
		c.Write([]byte("hello"))
		io.ReadFull(c, make([]byte, 1)) // the app read hello
		resetConn(c)
	})
	e := newEnv(t, envOpts{backend: backend})
	c := dial(t, e.upstream)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read hello: %v", err)
	}
	c.Write([]byte{1})
	if err := readErr(c); !isReset(err) {
		t.Fatalf("app read ended with %v, want a connection reset", err)
	}
}

func TestCleanCloseIsNotReset(t *testing.T) {
	backend := serve(t, func(c *net.TCPConn) {
		c.Write([]byte("bye"))
		c.Close() // a clean FIN, right away
	})
	e := newEnv(t, envOpts{backend: backend})
	c := dial(t, e.upstream)
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v; want %q and a clean EOF", got, err, "bye")
	}
}
