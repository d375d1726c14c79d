package agent

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ztunnel-dev/ztunnel/config"
)

// registeredNames lists every metric family name the agent's registry
// describes (vectors included, whether or not they have series yet).
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	a, err := New(&config.Config{LogLevel: "error"}, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 256)
	go func() { a.metrics.reg.Describe(ch); close(ch) }()
	fq := regexp.MustCompile(`fqName: "([a-zA-Z0-9_:]+)"`)
	names := map[string]bool{}
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}

// TestDashboardQueriesExist: every ztunnel_ metric the Grafana dashboard
// queries is one the agent exports.
func TestDashboardQueriesExist(t *testing.T) {
	raw, err := os.ReadFile("../examples/grafana/ztunnel.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	names := registeredNames(t)
	metric := regexp.MustCompile(`ztunnel_[a-z_]+`)
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if s, ok := v.Query.(string); ok {
			exprs = append(exprs, s)
		}
	}
	checked := 0
	for _, e := range exprs {
		for _, m := range metric.FindAllString(e, -1) {
			base := m
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(m, suf) && names[strings.TrimSuffix(m, suf)] {
					base = strings.TrimSuffix(m, suf)
				}
			}
			if !names[base] {
				t.Errorf("dashboard queries %s, which the agent does not export", m)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("only %d metric references found in the dashboard", checked)
	}
}

// TestMetricNames: the metric names the operations issue requires exist.
func TestMetricNames(t *testing.T) {
	names := registeredNames(t)
	for _, n := range []string{
		"ztunnel_handshakes_total", "ztunnel_handshake_duration_seconds", "ztunnel_streams_total",
		"ztunnel_streams_active", "ztunnel_tunnels_active", "ztunnel_bytes_total",
		"ztunnel_policy_decisions_total", "ztunnel_cert_expiry_seconds", "ztunnel_gossip_members",
		"ztunnel_reloads_total", "go_goroutines", "process_resident_memory_bytes",
	} {
		if !names[n] {
			t.Errorf("metric %s is not registered", n)
		}
	}
}
