package agent

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONLogAddresses: in JSON logs the "ready" line carries the bound
// addresses as strings, not as net.TCPAddr objects.
func TestJSONLogAddresses(t *testing.T) {
	l := startLoopAgentWith(t, "log_format = \"json\"\n")
	var ready map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if m["@message"] == "ready" {
			ready = m
		}
	}
	if ready == nil {
		t.Fatalf("no ready line:\n%s", l.logs.String())
	}
	for key, want := range map[string]string{"tunnel": l.a.TunnelAddr().String(), "admin": l.a.AdminAddr().String()} {
		if got, ok := ready[key].(string); !ok || got != want {
			t.Errorf("ready line %s = %#v, want the string %q", key, ready[key], want)
		}
	}
}
