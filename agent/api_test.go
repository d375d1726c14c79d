package agent

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/admin"
)

// postReload calls POST /v1/reload on the agent's admin API.
func postReload(tb testing.TB, a *Agent) (int, admin.Result) {
	tb.Helper()
	resp, err := http.Post("http://"+a.AdminAddr().String()+"/v1/reload", "application/json", nil)
	must(tb, err)
	defer resp.Body.Close()
	var res admin.Result
	must(tb, json.NewDecoder(resp.Body).Decode(&res))
	return resp.StatusCode, res
}

// TestReloadOverAdminAPI: POST /v1/reload on a real agent applies a changed
// policy (a new connection is refused, the open one cut) and answers 200
// ok; a broken policy answers 500 with the reason and the old policy stays.
func TestReloadOverAdminAPI(t *testing.T) {
	l := startLoopAgent(t)
	// Stop the file watcher so that only the API call can apply the change.
	l.a.stopLoops()
	open := l.dial(t)
	echoes(t, open, "before")
	before := l.a.Status().Policy.Version

	writeAtomic(t, l.policyFile, `default = "deny"`+"\n")
	if code, res := postReload(t, l.a); code != http.StatusOK || !res.OK || res.Error != "" {
		t.Fatalf("POST /v1/reload = %d %+v, want 200 ok", code, res)
	}
	st := l.a.Status()
	if st.Policy.Version == before || st.LastReload == nil || st.LastReload.Source != "api" || !st.LastReload.OK {
		t.Fatalf("after the API reload: policy %+v, last reload %+v", st.Policy, st.LastReload)
	}
	// refused fails unless c (nil: a new connection) is refused: the
	// agent resets it, at once or after its first byte.
	refused := func(c net.Conn, what string) {
		t.Helper()
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", l.upstream, 5*time.Second); err != nil {
				return // reset before the dial returned
			}
			defer c.Close()
			must(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		}
		_, _ = c.Write([]byte("x"))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("%s: read %d bytes under a deny-all policy", what, n)
		}
	}
	refused(nil, "new connection")
	refused(open, "open connection")

	writeAtomic(t, l.policyFile, `default = "maybe"`+"\n")
	code, res := postReload(t, l.a)
	if code != http.StatusInternalServerError || res.OK ||
		!strings.HasPrefix(res.Error, "policy not reloaded, the previous one stays in force: ") || !strings.Contains(res.Error, l.policyFile) {
		t.Fatalf("POST /v1/reload with a broken policy = %d %+v", code, res)
	}
	if got := l.a.Status().Policy.Version; got != st.Policy.Version {
		t.Fatalf("policy version %s after a refused reload, want %s", got, st.Policy.Version)
	}
	refused(nil, "new connection after the refused reload")
}
