package discovery

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.NodeName = "a"
		c.BindAddr = "10.0.0.1:7946"
		c.Keys = [][]byte{testKey(1)}
		c.TunnelAddr = "10.0.0.1:15008"
		c.Workloads = []Workload{{ID: "spiffe://x/a", Ports: []int{8443}}}
		return c
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" for valid; else the joined message
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "advertise derived from specific bind", edit: func(c *Config) { c.Advertise = "" }},
		{name: "no node name", edit: func(c *Config) { c.NodeName = "" }, wantErr: "discovery: invalid config: node name is empty"},
		{name: "bind not ip", edit: func(c *Config) { c.BindAddr = "localhost:7946"; c.Advertise = "10.0.0.1:7946" }, wantErr: `discovery: invalid config: bind address "localhost:7946" is not IP:port`},
		{name: "unspecified bind needs advertise", edit: func(c *Config) { c.BindAddr = "0.0.0.0:7946"; c.Advertise = "" }, wantErr: `discovery: invalid config: advertise address is required when bind address "0.0.0.0:7946" has no specific IP`},
		{name: "advertise unspecified", edit: func(c *Config) { c.Advertise = "0.0.0.0:1" }, wantErr: `discovery: invalid config: advertise address "0.0.0.0:1" is not a specific IP:port`},
		{name: "bad join", edit: func(c *Config) { c.Join = []string{"10.0.0.2"} }, wantErr: `discovery: invalid config: join address "10.0.0.2" is not host:port`},
		{name: "no keys", edit: func(c *Config) { c.Keys = nil }, wantErr: "discovery: invalid config: discovery: no gossip key"},
		{name: "short key", edit: func(c *Config) { c.Keys = [][]byte{testKey(1), []byte("short")} }, wantErr: "discovery: invalid config: key 2 is 5 bytes, want 16, 24 or 32"},
		{name: "long label", edit: func(c *Config) { c.Label = strings.Repeat("l", 256) }, wantErr: "discovery: invalid config: label is longer than 255 bytes"},
		{name: "workloads without tunnel", edit: func(c *Config) { c.TunnelAddr = "" }, wantErr: "discovery: invalid config: workloads are served but the tunnel address is empty"},
		{name: "bad tunnel port", edit: func(c *Config) { c.TunnelAddr = "h:0" }, wantErr: `discovery: invalid config: tunnel address "h:0" has a bad port`},
		{name: "duplicate workload and bad port", edit: func(c *Config) {
			c.Workloads = append(c.Workloads, Workload{ID: "spiffe://x/a", Ports: []int{70000}})
		}, wantErr: "discovery: invalid config: workload \"spiffe://x/a\" listed twice\ndiscovery: invalid config: workload \"spiffe://x/a\" port 70000 is out of range"},
		{name: "bad profile", edit: func(c *Config) { c.Profile = "fast" }, wantErr: `discovery: invalid config: profile "fast" is not lan, wan or local`},
		{name: "negative timing", edit: func(c *Config) { c.Timing.ProbeInterval = -time.Second }, wantErr: "discovery: invalid config: probe interval is negative"},
		{name: "all problems at once", edit: func(c *Config) { c.NodeName = ""; c.Keys = nil }, wantErr: "discovery: invalid config: node name is empty\ndiscovery: invalid config: discovery: no gossip key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			c.Advertise = "10.0.0.1:7946"
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := New(c); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}
