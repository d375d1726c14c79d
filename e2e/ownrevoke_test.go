package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/agent"
)

// TestOwnCertificateRevoked: a CRL that revokes one of an agent's own
// certificates, seen only by that agent, makes it stop presenting the
// certificate and cut the sessions made with it within a second of the
// reload; on the callee side (payments revoked, reloaded on b) and on the
// caller side (frontend revoked, reloaded on a).
func TestOwnCertificateRevoked(t *testing.T) {
	for _, side := range []struct{ name, workload string }{
		{"callee", "payments"},
		{"caller", "frontend"},
	} {
		t.Run(side.name, func(t *testing.T) {
			pr, p := startPairPKI(t, allowFrontendPolicy, allowFrontendPolicy)
			live := openLive(t, pr.frontend)
			owner := pr.b
			id := idPayments
			if side.workload == "frontend" {
				owner, id = pr.a, idFrontend
			}
			writeFile(t, p.crl, string(p.ca.CRL(t, p.leaves[side.workload])))
			start := time.Now()
			err := owner.a.Reload("test")
			if err == nil || !strings.Contains(err.Error(), "its certificate is no longer presented") {
				t.Fatalf("reload error %v, want one saying the certificate is no longer presented", err)
			}
			_ = live.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, rerr := live.c.Read(make([]byte, 1))
			wantReset(t, "", rerr)
			cut := time.Since(start)
			t.Logf("own certificate revoked on the %s: reload to cut %v", side.name, cut)
			if cut > time.Second {
				t.Fatalf("stream cut %v after the reload, want within 1s", cut)
			}
			reply, err := roundTrip(pr.frontend, "again")
			wantReset(t, reply, err)

			st, err := agent.FetchStatus(owner.a.AdminAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range st.Workloads {
				if w.ID == id && w.State != "revoked" {
					t.Fatalf("status shows %s as %q, want revoked", id, w.State)
				}
			}
			if err := owner.a.Ready(); err == nil || !strings.Contains(err.Error(), "revoked") {
				t.Fatalf("Ready() = %v, want an error naming the revoked certificate", err)
			}
		})
	}
}
