package agent

import (
	"slices"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
)

// TestRestartOnlyChanges: every setting a running agent cannot change is
// named, so a reload refuses it instead of silently ignoring it.
func TestRestartOnlyChanges(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{
			NodeName: "a", DataDir: "/var/lib/ztunnel", LogLevel: "info", LogFormat: "text",
			Tunnel: config.Tunnel{Listen: "0.0.0.0:15008", Advertise: "10.0.0.1:15008", MaxHandshakes: 256, DialTimeout: 5 * time.Second},
			Admin:  config.Admin{Listen: "127.0.0.1:15000"},
			Gossip: &config.Gossip{Listen: "0.0.0.0:7946", Advertise: "10.0.0.1:7946", Join: []string{"10.0.0.2:7946"}, KeyFile: "/k"},
			Workloads: []config.Workload{{Name: "rep", ID: "spiffe://example.org/rep",
				Enroll: &config.Enroll{Server: "10.0.0.9:8200", TokenFile: "/t"}}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *config.Config)
		want   []string
	}{
		{"nothing", func(*config.Config) {}, nil},
		{"applied on reload", func(c *config.Config) {
			c.LogLevel, c.Tunnel.Advertise, c.Gossip.KeyFile, c.MaxProcs = "debug", "10.0.0.9:15008", "/k2", 3
			c.ShutdownTimeout = time.Minute
		}, nil},
		{"node_name", func(c *config.Config) { c.NodeName = "b" }, []string{"node_name"}},
		{"data_dir", func(c *config.Config) { c.DataDir = "/srv" }, []string{"data_dir"}},
		{"log_format", func(c *config.Config) { c.LogFormat = "json" }, []string{"log_format"}},
		{"tunnel.listen", func(c *config.Config) { c.Tunnel.Listen = "0.0.0.0:15009" }, []string{"tunnel.listen"}},
		{"a limit", func(c *config.Config) { c.Tunnel.MaxHandshakes = 8 }, []string{"tunnel limits or timeouts"}},
		{"a timeout", func(c *config.Config) { c.Tunnel.DialTimeout = time.Second }, []string{"tunnel limits or timeouts"}},
		{"admin", func(c *config.Config) { c.Admin.Listen, c.Admin.Pprof = "127.0.0.1:1", true }, []string{"admin.listen", "admin.pprof"}},
		{"gossip off", func(c *config.Config) { c.Gossip = nil }, []string{"the presence of the gossip block"}},
		{"enroll server", func(c *config.Config) {
			c.Workloads[0].Enroll = &config.Enroll{Server: "10.0.0.8:8200", TokenFile: "/t"}
		}, []string{"workload.rep.enroll"}},
		{"enrolled workload removed", func(c *config.Config) { c.Workloads = nil }, []string{"workload.rep.enroll"}},
		{"enrolled workload unchanged", func(c *config.Config) {
			c.Workloads[0].Enroll = &config.Enroll{Server: "10.0.0.9:8200", TokenFile: "/t"}
		}, nil},
		{"gossip addresses", func(c *config.Config) {
			c.Gossip.Listen, c.Gossip.Advertise, c.Gossip.Join = "0.0.0.0:7947", "10.0.0.1:7947", []string{"10.0.0.3:7946"}
		}, []string{"gossip.listen", "gossip.advertise", "gossip.join"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.change(cfg)
			if got := restartOnlyChanges(base(), cfg); !slices.Equal(got, tc.want) {
				t.Fatalf("restartOnlyChanges = %q, want %q", got, tc.want)
			}
		})
	}
}
