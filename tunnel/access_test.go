package tunnel

import (
	"encoding/json"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// accessLines returns the JSON access-log lines written to b.
func accessLines(t *testing.T, b *logBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["@module"] == "access" {
			out = append(out, m)
		}
	}
	return out
}

func jsonLogger(b *logBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Level: hclog.Info, Output: b, JSONFormat: true})
}

func TestAccessLog(t *testing.T) {
	var clientLog, serverLog logBuffer
	e := newEnv(t, envOpts{
		backend:      serve(t, echo),
		clientConfig: func(c *Config) { c.Logger = jsonLogger(&clientLog) },
		serverConfig: func(c *Config) { c.Logger = jsonLogger(&serverLog) },
	})
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
	c.CloseWrite()
	io.ReadAll(c)
	eventually(t, "both streams to end", func() bool { return e.client.reg.len()+e.server.reg.len() == 0 })
	e.serverPol.set(false, "deny-rule")
	expectReset(t, e.upstream)
	eventually(t, "both access lines on both sides", func() bool {
		return strings.Count(clientLog.String(), `"@module":"access"`) == 2 &&
			strings.Count(serverLog.String(), `"@module":"access"`) == 2
	})

	for _, tc := range []struct {
		name string
		log  *logBuffer
		want []string // "direction end rule bytes_out bytes_in" per line
	}{
		{"caller", &clientLog, []string{"outbound closed allow-all 5 5", "outbound denied deny-rule 0 0"}},
		{"callee", &serverLog, []string{"inbound closed allow-all 5 5", "inbound denied deny-rule 0 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, m := range accessLines(t, tc.log) {
				if m["source"] != idFront || m["target"] != idPay || m["port"] != float64(payPort) {
					t.Errorf("access line %v: wrong source, target or port", m)
				}
				if _, ok := m["duration"]; !ok {
					t.Errorf("access line %v has no duration", m)
				}
				got = append(got, strings.Join([]string{m["direction"].(string), m["end"].(string),
					m["rule"].(string), jsonNum(m["bytes_out"]), jsonNum(m["bytes_in"])}, " "))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("access lines %q, want %q", got, tc.want)
			}
		})
	}
}

func jsonNum(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// gaugeMetrics sums the gauges and byte counters.
type gaugeMetrics struct {
	NopMetrics
	mu               sync.Mutex
	streams, tunnels int
	bytes            map[string]int
	decisions        map[string]int
}

func (m *gaugeMetrics) ActiveStreams(_ string, d int) { m.mu.Lock(); m.streams += d; m.mu.Unlock() }
func (m *gaugeMetrics) ActiveTunnels(_ string, d int) { m.mu.Lock(); m.tunnels += d; m.mu.Unlock() }
func (m *gaugeMetrics) StreamBytes(dir, _, _ string) func(int) {
	return func(n int) {
		m.mu.Lock()
		m.bytes[dir] += n
		m.mu.Unlock()
	}
}
func (m *gaugeMetrics) PolicyDecision(d, rule string) {
	m.mu.Lock()
	m.decisions[d+"/"+rule]++
	m.mu.Unlock()
}

func (m *gaugeMetrics) get() (int, int, map[string]int, map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams, m.tunnels, maps.Clone(m.bytes), maps.Clone(m.decisions)
}

func TestMetricsGaugesAndBytes(t *testing.T) {
	cm := &gaugeMetrics{bytes: map[string]int{}, decisions: map[string]int{}}
	sm := &gaugeMetrics{bytes: map[string]int{}, decisions: map[string]int{}}
	e := newEnv(t, envOpts{backend: serve(t, echo),
		clientConfig: func(c *Config) { c.Metrics = cm },
		serverConfig: func(c *Config) { c.Metrics = sm }})
	c := dial(t, e.upstream)
	roundTrip(t, c, "0123456789")
	if s, tn, _, _ := cm.get(); s != 1 || tn != 1 {
		t.Fatalf("caller gauges: %d streams, %d tunnels; want 1, 1", s, tn)
	}
	c.CloseWrite()
	io.ReadAll(c)
	for name, m := range map[string]*gaugeMetrics{"caller": cm, "callee": sm} {
		ok := func() bool {
			s, tn, b, d := m.get()
			return s == 0 && tn == 1 && b[DirOutbound] == 10 && b[DirInbound] == 10 && d["allow/allow-all"] == 1
		}
		deadline := time.Now().Add(waitLong)
		for !ok() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if s, tn, b, d := m.get(); !ok() {
			t.Errorf("%s: streams %d tunnels %d bytes %v decisions %v; want 0, 1, 10 each way, one allow",
				name, s, tn, b, d)
		}
	}
	e.client.Close()
	eventually(t, "the tunnel gauges to drop", func() bool {
		_, ct, _, _ := cm.get()
		_, st, _, _ := sm.get()
		return ct == 0 && st == 0
	})
}

// TestAccessLogPolicyCut: a live stream cut by a new policy is logged with
// end policy_change by the agent that cut it, its allowing rule and the
// rule that denies it now; the other agent sees a reset.
func TestAccessLogPolicyCut(t *testing.T) {
	var clientLog, serverLog logBuffer
	e := newEnv(t, envOpts{
		backend:      serve(t, echo),
		clientConfig: func(c *Config) { c.Logger = jsonLogger(&clientLog) },
		serverConfig: func(c *Config) { c.Logger = jsonLogger(&serverLog) },
	})
	c := dial(t, e.upstream)
	roundTrip(t, c, "hello")
	e.serverPol.set(false, "lockdown")
	if n := e.server.Recheck(); n != 1 {
		t.Fatalf("Recheck cut %d streams, want 1", n)
	}
	if err := readErr(c); !isReset(err) {
		t.Fatalf("app read ended with %v, want a reset", err)
	}
	eventually(t, "both access lines", func() bool {
		return strings.Count(clientLog.String(), `"@module":"access"`) == 1 &&
			strings.Count(serverLog.String(), `"@module":"access"`) == 1
	})
	srv := accessLines(t, &serverLog)[0]
	if srv["end"] != EndPolicyChange || srv["rule"] != "allow-all" || srv["cut_rule"] != "lockdown" {
		t.Fatalf("callee access line %v: want end policy_change, rule allow-all, cut_rule lockdown", srv)
	}
	cli := accessLines(t, &clientLog)[0]
	if cli["end"] != EndReset {
		t.Fatalf("caller access line %v: want end reset", cli)
	}
	if _, ok := cli["cut_rule"]; ok {
		t.Fatalf("caller access line %v names a cut_rule it did not apply", cli)
	}
}
