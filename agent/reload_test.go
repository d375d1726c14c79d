package agent

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeAtomic replaces path with content in one rename, so that the file
// watcher never reads it half-written.
func writeAtomic(tb testing.TB, path, content string) {
	tb.Helper()
	must(tb, os.WriteFile(path+".tmp", []byte(content), 0o600))
	must(tb, os.Rename(path+".tmp", path))
}

// TestFailedReloadKeepsPreviousState: a reloaded config whose new upstream
// port is taken is refused as a whole (DESIGN §9): the config, the identity
// store, the static peers, /v1/status and readiness stay those of the old
// config, the error names the upstream and the address, and traffic goes
// on. Once the port is free the same config applies.
func TestFailedReloadKeepsPreviousState(t *testing.T) {
	const (
		webID   = "spiffe://" + testTD + "/web"
		apiID   = "spiffe://" + testTD + "/api"
		otherID = "spiffe://" + testTD + "/other"
		otherAt = "127.0.0.1:9"
	)
	peer := fmt.Sprintf("peer \"other\" {\n  address = %q\n  workloads = [%q]\n}\n", otherAt, otherID)
	for _, tc := range []struct {
		name string
		// change returns the new config text with an upstream on taken,
		// and that upstream's workload ID and name.
		change func(l *loopAgent, taken string) (hcl, source, upstream string)
	}{
		{"new workload (new identity store)", func(l *loopAgent, taken string) (string, string, string) {
			cert, key := l.ca.Issue(t, apiID).WriteFiles(t, l.dir, "api")
			return l.hcl + peer + fmt.Sprintf(`
workload "api" {
  id = %q
  cert = %q
  key = %q
  upstream "web" {
    listen = %q
    target = %q
    port = 80
  }
}
`, apiID, cert, key, taken, webID), apiID, "web"
		}},
		{"new upstream of a workload (same identity store)", func(l *loopAgent, taken string) (string, string, string) {
			up := fmt.Sprintf("  upstream \"again\" {\n    listen = %q\n    target = %q\n    port = 80\n  }\n  upstream \"self\" {", taken, webID)
			return strings.Replace(l.hcl, `  upstream "self" {`, up, 1) + peer, webID, "again"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := startLoopAgent(t)
			open := l.dial(t)
			echoes(t, open, "before")

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			must(t, err)
			taken := ln.Addr().String()
			hcl, source, upstream := tc.change(l, taken)
			cfgBefore, storeBefore, statusBefore := l.a.Config(), l.a.store.Load(), l.a.Status()
			writeAtomic(t, l.file, hcl)

			err = l.a.Reload("test")
			// Where the taken address stands in the new file.
			line, col := 0, 0
			for i, s := range strings.Split(hcl, "\n") {
				if c := strings.Index(s, `"`+taken+`"`); c >= 0 {
					line, col = i+1, c+1
				}
			}
			want := regexp.MustCompile(fmt.Sprintf(`^config not applied, the previous one stays in force: %s:%d:%d: workload\.\w+\.upstream\.%s\.listen: %s is already in use by another program$`,
				regexp.QuoteMeta(l.file), line, col, upstream, regexp.QuoteMeta(taken)))
			if err == nil || !want.MatchString(err.Error()) {
				t.Fatalf("Reload error:\n got %v\nwant %s", err, want)
			}
			if l.a.Config() != cfgBefore {
				t.Error("the refused config is in force")
			}
			if l.a.store.Load() != storeBefore {
				t.Error("the refused config's identity store is in force")
			}
			if got := l.a.resolve(otherID); len(got) != 0 {
				t.Errorf("the refused config's static peer is in force: %v", got)
			}
			if got := l.a.UpstreamAddr(source, upstream); got != nil {
				t.Errorf("the refused upstream listens on %v", got)
			}
			st := l.a.Status()
			if !slices.EqualFunc(st.Workloads, statusBefore.Workloads, func(a, b WorkloadStatus) bool {
				return a.Name == b.Name && slices.Equal(a.Upstreams, b.Upstreams)
			}) {
				t.Errorf("status workloads after the refused reload:\n%+v\nwant\n%+v", st.Workloads, statusBefore.Workloads)
			}
			if !st.Ready || st.LastReload == nil || st.LastReload.OK || st.LastReload.Error != err.Error() {
				t.Errorf("status: ready=%v (%s), last reload %+v", st.Ready, st.NotReady, st.LastReload)
			}
			if logs := l.logs.String(); !strings.Contains(logs, "reload failed") || !strings.Contains(logs, taken) {
				t.Errorf("the reload failure is not logged with the address:\n%s", logs)
			}
			echoes(t, open, "open connection after the refused reload")
			echoes(t, l.dial(t), "new connection after the refused reload")

			// The same config applies once its port is free.
			must(t, ln.Close())
			if err := l.a.Reload("test"); err != nil {
				t.Fatalf("reload with the port free: %v", err)
			}
			if got := l.a.UpstreamAddr(source, upstream); got == nil || got.String() != taken {
				t.Fatalf("new upstream listens on %v, want %s", got, taken)
			}
			if got := l.a.resolve(otherID); !slices.Equal(got, []string{otherAt}) {
				t.Errorf("static peers after the applied reload: %v", got)
			}
			if err := l.a.Ready(); err != nil {
				t.Errorf("not ready after the applied reload: %v", err)
			}
			c, err := net.DialTimeout("tcp", taken, 5*time.Second)
			must(t, err)
			defer c.Close()
			must(t, c.SetDeadline(time.Now().Add(10*time.Second)))
			echoes(t, c, "through the new upstream")
		})
	}
}
