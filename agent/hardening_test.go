package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// loopAgent is an agent whose workload "web" calls itself through its own
// tunnel port (a static peer): a connection to its upstream reaches an echo
// backend over real TLS + yamux and the policy.
type loopAgent struct {
	a          *Agent
	logs       *lockedBuffer
	file       string // the config file
	policyFile string
	upstream   string
	// hcl is the config file's text, ca the CA of its certificates, dir
	// their folder: tests that reload a changed config start from them.
	hcl string
	ca  *identitytest.CA
	dir string
}

func startLoopAgent(tb testing.TB) *loopAgent {
	tb.Helper()
	return startLoopAgentWith(tb, "")
}

// startLoopAgentWith is startLoopAgent with extra top-level HCL in the
// config (log_format, ...).
func startLoopAgentWith(tb testing.TB, extra string) *loopAgent {
	tb.Helper()
	dir := tb.TempDir()
	ca := identitytest.NewCA(tb, testTD)
	bundle := ca.WriteBundle(tb, dir)
	id := "spiffe://" + testTD + "/web"
	cert, key := ca.Issue(tb, id).WriteFiles(tb, dir, "web")
	backend := echoServer(tb)
	tunnelAddr := freeAddr(tb)
	policyFile := filepath.Join(dir, "policy.hcl")
	if err := os.WriteFile(policyFile, []byte(`default = "allow"`+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(dir, "agent.hcl")
	hcl := fmt.Sprintf(`
node_name = "t"
data_dir = %q
trust {
  trust_domain = %q
  bundle = %q
}
tunnel {
  listen = %q
}
admin { listen = "127.0.0.1:0" }
policy { file = %q }
workload "web" {
  id = %q
  cert = %q
  key = %q
  expose {
    port = 80
    backend = %q
  }
  upstream "self" {
    listen = "127.0.0.1:0"
    target = %q
    port = 80
  }
}
peer "self" {
  address = %q
  workloads = [%q]
}
`, dir, testTD, bundle, tunnelAddr, policyFile, id, cert, key, backend, id, tunnelAddr, id) + extra
	if err := os.WriteFile(file, []byte(hcl), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &lockedBuffer{}
	a, err := New(cfg, Options{LogOutput: logs, Version: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	up := a.UpstreamAddr(id, "self")
	if up == nil {
		tb.Fatal("no upstream listener")
	}
	return &loopAgent{a: a, logs: logs, file: file, policyFile: policyFile, upstream: up.String(),
		hcl: hcl, ca: ca, dir: dir}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// echoServer is a loopback backend that echoes until EOF.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// dialLoop connects to the agent's upstream.
func (l *loopAgent) dial(tb testing.TB) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", l.upstream, 10*time.Second)
	if err != nil {
		tb.Fatalf("dial upstream: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

func echoes(tb testing.TB, c net.Conn, msg string) {
	tb.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		tb.Fatalf("write: %v", err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		tb.Fatalf("echo %q, %v; want %q", buf, err, msg)
	}
}

// TestReloadWithUnreadableFiles: a config (or policy) file that is gone or
// became a directory fails the reload with an error naming the file, and
// the agent keeps serving with its old state: an open connection and a new
// one both work.
func TestReloadWithUnreadableFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		// breakIt makes a file unreadable and returns the exact Reload error.
		breakIt func(l *loopAgent) string
	}{
		{"config removed", func(l *loopAgent) string {
			must(t, os.Remove(l.file))
			return "config not reloaded: " + l.file + ": cannot read the config file: the file does not exist"
		}},
		{"config replaced by a directory", func(l *loopAgent) string {
			must(t, os.Remove(l.file))
			must(t, os.Mkdir(l.file, 0o700))
			return "config not reloaded: " + l.file + ": cannot read the config file: is a directory"
		}},
		{"policy removed", func(l *loopAgent) string {
			must(t, os.Remove(l.policyFile))
			return "config not reloaded: " + l.file + `:12:17: policy.file: cannot read "` + l.policyFile + `": the file does not exist`
		}},
		{"policy replaced by a directory", func(l *loopAgent) string {
			must(t, os.Remove(l.policyFile))
			must(t, os.Mkdir(l.policyFile, 0o700))
			return "config not reloaded: " + l.file + `:12:17: policy.file: "` + l.policyFile + `" is a directory; expected a file`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoopAgent(t)
			open := l.dial(t)
			echoes(t, open, "before")
			want := tc.breakIt(l)
			if err := l.a.Reload("test"); err == nil || err.Error() != want {
				t.Fatalf("Reload error:\n got %v\nwant %s", err, want)
			}
			if !strings.Contains(l.logs.String(), "reload failed") {
				t.Fatalf("no reload failure logged:\n%s", l.logs.String())
			}
			echoes(t, open, "open connection after the failed reload")
			echoes(t, l.dial(t), "new connection after the failed reload")
		})
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
