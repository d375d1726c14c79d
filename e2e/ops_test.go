package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ztunnel-dev/ztunnel/agent"
)

// scrape parses an agent's /metrics with the Prometheus text parser.
func scrape(tb testing.TB, n *node) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get("http://" + n.a.AdminAddr().String() + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sum adds the values of every series of fam whose labels include want.
func sum(fam *dto.MetricFamily, want map[string]string) float64 {
	if fam == nil {
		return 0
	}
	total := 0.0
	for _, m := range fam.Metric {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func TestMetricsMoveAfterTraffic(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)
	for i := 0; i < 3; i++ {
		if reply, err := roundTrip(pr.frontend, "ping"); err != nil || reply != "ping" {
			t.Fatalf("round trip: %q %v", reply, err)
		}
	}
	reply, err := roundTrip(pr.batch, "nope")
	wantReset(t, reply, err)

	a, b := scrape(t, pr.a), scrape(t, pr.b)
	for _, tc := range []struct {
		fams   map[string]*dto.MetricFamily
		name   string
		labels map[string]string
		min    float64
	}{
		{a, "ztunnel_handshakes_total", map[string]string{"direction": "outbound", "result": "ok"}, 1},
		{b, "ztunnel_handshakes_total", map[string]string{"direction": "inbound", "result": "ok"}, 1},
		{a, "ztunnel_handshake_duration_seconds", nil, 1},
		{a, "ztunnel_streams_total", map[string]string{"source": idFrontend, "target": idPayments, "result": "ok"}, 3},
		{b, "ztunnel_streams_total", map[string]string{"source": idFrontend, "target": idPayments, "result": "ok"}, 3},
		{a, "ztunnel_bytes_total", map[string]string{"direction": "outbound", "source": idFrontend}, 12},
		{a, "ztunnel_policy_decisions_total", map[string]string{"decision": "deny", "rule": "no-dev-to-prod"}, 1},
		{b, "ztunnel_policy_decisions_total", map[string]string{"decision": "allow", "rule": "frontend-to-payments"}, 3},
		{a, "ztunnel_tunnels_active", map[string]string{"direction": "outbound"}, 1},
		{a, "ztunnel_cert_expiry_seconds", map[string]string{"workload": idFrontend}, 60},
		{a, "ztunnel_ready", nil, 1},
		{a, "ztunnel_crl_stale", nil, 0},
		{a, "ztunnel_revocation_unknown_accepts_total", nil, 0},
		{a, "ztunnel_build_info", map[string]string{"version": "e2e"}, 1},
		{a, "go_goroutines", nil, 1},
		{a, "process_open_fds", nil, 1},
	} {
		if tc.fams[tc.name] == nil {
			t.Errorf("%s is not exported", tc.name)
			continue
		}
		if got := sum(tc.fams[tc.name], tc.labels); got < tc.min {
			t.Errorf("%s%v = %v, want >= %v", tc.name, tc.labels, got, tc.min)
		}
	}
	// No label anywhere carries a client address or port.
	for name, fam := range a {
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				if strings.Contains(l.GetValue(), "127.0.0.1") {
					t.Errorf("%s has an address in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestStatusDocument(t *testing.T) {
	pr := startPair(t, allowFrontendPolicy, allowFrontendPolicy)
	if _, err := roundTrip(pr.frontend, "x"); err != nil {
		t.Fatal(err)
	}
	st, err := agent.FetchStatus(pr.a.a.AdminAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "a" || !st.Ready || st.Version != "e2e" || len(st.Workloads) != 2 {
		t.Fatalf("status: %+v", st)
	}
	for _, w := range st.Workloads {
		if w.State != "valid" || w.Serial == "" || w.ExpiresInSeconds <= 0 {
			t.Errorf("workload %s: %+v", w.Name, w)
		}
	}
	if st.Policy.Version == "" || st.Policy.Rules != 2 || st.LastReload == nil || !st.LastReload.OK {
		t.Errorf("policy/reload: %+v %+v", st.Policy, st.LastReload)
	}
	if st.Tunnels.Totals.OutboundTunnels < 1 {
		t.Errorf("tunnels: %+v", st.Tunnels.Totals)
	}
	// The static peer block is listed with what it serves.
	if len(st.Peers) != 1 || st.Peers[0].Name != "b" || st.Peers[0].Source != "static" ||
		st.Peers[0].Address != pr.b.a.TunnelAddr().String() || len(st.Peers[0].Workloads) != 1 || st.Peers[0].Workloads[0] != idPayments {
		t.Errorf("peers: %+v", st.Peers)
	}
	// The raw JSON uses the documented snake_case names.
	resp, err := http.Get("http://" + pr.a.a.AdminAddr().String() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node", "version", "uptime_seconds", "workloads", "peers", "tunnels", "policy", "last_reload"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status JSON lacks %q", k)
		}
	}
	var out bytes.Buffer
	agent.PrintStatus(&out, st)
	for _, want := range []string{"node      a (ztunnel e2e)", "frontend", idPayments, "streams", "peers     1 (1 static, 0 gossip)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ztunnel status output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestMetricsListenerOnAgent: admin.metrics_listen gives Prometheus the
// metrics and health endpoints on their own listener, without the API.
func TestMetricsListenerOnAgent(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	pc, pk := p.issue(t, "payments", idPayments)
	n := startAgent(t, dir, "m", agentConfig{
		Name: "m", DataDir: dir, Trust: trustBlock(p), Metrics: "127.0.0.1:0",
		Workloads: []workloadConfig{{Name: "payments", ID: idPayments, Cert: pc, Key: pk,
			Exposes: []exposeConfig{{Port: 8443, Backend: echoBackend(t)}}}},
	}.String())
	addr := n.a.MetricsAddr()
	if addr == nil {
		t.Fatal("no metrics listener")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "ztunnel_ready 1") {
		t.Fatalf("/metrics: %d\n%.300s", code, body)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d", code)
	}
	if code, _ := get("/v1/status"); code != http.StatusNotFound {
		t.Fatalf("/v1/status on the metrics listener: %d, want 404", code)
	}
}
