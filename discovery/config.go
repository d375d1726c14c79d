package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Workload is a local workload this node serves through its tunnel port.
type Workload struct {
	ID    string `json:"id"`              // SPIFFE ID
	Ports []int  `json:"ports,omitempty"` // exposed ports
}

// Timing tunes memberlist and the catalog repair loop. A zero field takes
// the value of Config.Profile. Tests use short intervals; production keeps
// the profile.
type Timing struct {
	ProbeInterval       time.Duration // failure-detector probe period
	ProbeTimeout        time.Duration // wait for a probe ack
	GossipInterval      time.Duration // broadcast period
	PushPullInterval    time.Duration // full state sync with one random member
	GossipToTheDeadTime time.Duration // keep gossiping to dead members (partition heal)
	TCPTimeout          time.Duration // push-pull and pull connections
	SuspicionMult       int           // suspicion timeout multiplier
	RetransmitMult      int           // broadcast retransmits = mult × log(N+1)

	// ReconcileInterval is how often a member whose metadata generation is
	// ahead of the catalog we hold is asked for its catalog over TCP, and
	// how often dead members are reaped. Default 1s.
	ReconcileInterval time.Duration
}

// Config configures a Gossip. Zero values are documented per field; start
// from DefaultConfig.
type Config struct {
	NodeName  string   // required; unique in the cluster
	BindAddr  string   // gossip listen IP:port; default "0.0.0.0:7946" (port 0: any)
	Advertise string   // IP:port told to peers; default BindAddr when its IP is specific
	Join      []string // host:port of members to join; empty starts a new cluster
	Keys      [][]byte // 16, 24 or 32-byte keys; Keys[0] sends, all are accepted; required
	Label     string   // memberlist label, must match in the cluster; default "ztunnel"

	TunnelAddr string     // this node's tunnel advertise host:port; "" serves nothing
	Workloads  []Workload // local workloads served at TunnelAddr

	// Logger receives discovery's and memberlist's logs; nil discards.
	Logger hclog.Logger

	// Profile picks memberlist's timing preset: "lan" (default), "wan" or
	// "local" (loopback tests). Timing overrides single values.
	Profile string
	Timing  Timing

	// RejoinInterval is how often the Join addresses are contacted again
	// after start so that a partition heals; default 30s. The first join is
	// retried with backoff (1s doubling up to RejoinInterval).
	RejoinInterval time.Duration

	// DeadNodeReclaimTime lets a node restarted under the same name (maybe
	// with another address) take its name back once it has been dead this
	// long; default 1s.
	DeadNodeReclaimTime time.Duration

	// DeadRetention is how long a dead or left member stays in Members();
	// default 10m.
	DeadRetention time.Duration

	// EventBuffer is the capacity of each Subscribe channel; default 256.
	// A subscriber that falls behind by more than 16× this loses the oldest
	// events (counted in Stats.EventsDropped).
	EventBuffer int
}

// DefaultConfig returns a Config with every default filled in except
// NodeName and Keys.
func DefaultConfig() Config {
	return Config{
		BindAddr:            "0.0.0.0:7946",
		Label:               "ztunnel",
		Profile:             "lan",
		RejoinInterval:      30 * time.Second,
		DeadNodeReclaimTime: time.Second,
		DeadRetention:       10 * time.Minute,
		EventBuffer:         256,
		Timing:              Timing{ReconcileInterval: time.Second},
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.Advertise == "" {
		if ap, err := netip.ParseAddrPort(c.BindAddr); err == nil && !ap.Addr().IsUnspecified() {
			c.Advertise = c.BindAddr
		}
	}
	if c.Label == "" {
		c.Label = d.Label
	}
	if c.Profile == "" {
		c.Profile = d.Profile
	}
	if c.RejoinInterval == 0 {
		c.RejoinInterval = d.RejoinInterval
	}
	if c.DeadNodeReclaimTime == 0 {
		c.DeadNodeReclaimTime = d.DeadNodeReclaimTime
	}
	if c.DeadRetention == 0 {
		c.DeadRetention = d.DeadRetention
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = d.EventBuffer
	}
	if c.Timing.ReconcileInterval == 0 {
		c.Timing.ReconcileInterval = d.Timing.ReconcileInterval
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return c
}

// Validate reports every problem in c (after defaults), joined, each
// wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.NodeName == "" {
		bad("node name is empty")
	} else if len(c.NodeName) > maxNodeName {
		bad("node name is longer than %d bytes", maxNodeName)
	}
	if _, err := netip.ParseAddrPort(c.BindAddr); err != nil {
		bad("bind address %q is not IP:port", c.BindAddr)
	}
	if c.Advertise == "" {
		bad("advertise address is required when bind address %q has no specific IP", c.BindAddr)
	} else if ap, err := netip.ParseAddrPort(c.Advertise); err != nil || ap.Addr().IsUnspecified() {
		bad("advertise address %q is not a specific IP:port", c.Advertise)
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			bad("join address %q is not host:port", j)
		}
	}
	if len(c.Keys) == 0 {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, ErrNoKeys))
	}
	for i, k := range c.Keys {
		if err := checkKey(k); err != nil {
			bad("key %d is %d bytes, want 16, 24 or 32", i+1, len(k))
		}
	}
	if len(c.Label) > 255 {
		bad("label is longer than 255 bytes")
	}
	for _, err := range checkLocal(c.TunnelAddr, c.Workloads) {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	switch c.Profile {
	case "lan", "wan", "local":
	default:
		bad("profile %q is not lan, wan or local", c.Profile)
	}
	t := c.Timing
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"probe interval", t.ProbeInterval}, {"probe timeout", t.ProbeTimeout},
		{"gossip interval", t.GossipInterval}, {"push-pull interval", t.PushPullInterval},
		{"gossip-to-the-dead time", t.GossipToTheDeadTime}, {"tcp timeout", t.TCPTimeout},
		{"reconcile interval", t.ReconcileInterval}, {"rejoin interval", c.RejoinInterval},
		{"dead node reclaim time", c.DeadNodeReclaimTime}, {"dead retention", c.DeadRetention},
	} {
		if d.d < 0 {
			bad("%s is negative", d.name)
		}
	}
	if t.SuspicionMult < 0 || t.RetransmitMult < 0 || c.EventBuffer < 0 {
		bad("suspicion mult, retransmit mult and event buffer must not be negative")
	}
	return errors.Join(errs...)
}

// checkLocal validates what this node announces; it is also SetLocal's check.
func checkLocal(tunnelAddr string, ws []Workload) []error {
	var errs []error
	if tunnelAddr == "" && len(ws) > 0 {
		errs = append(errs, errors.New("workloads are served but the tunnel address is empty"))
	}
	if tunnelAddr != "" {
		if len(tunnelAddr) > maxAddrLen {
			errs = append(errs, fmt.Errorf("tunnel address is longer than %d bytes", maxAddrLen))
		} else if _, port, err := net.SplitHostPort(tunnelAddr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("tunnel address %q is not host:port", tunnelAddr))
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("tunnel address %q has a bad port", tunnelAddr))
		}
	}
	if len(ws) > maxWorkloads {
		errs = append(errs, fmt.Errorf("%d workloads, limit %d", len(ws), maxWorkloads))
	}
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		switch {
		case w.ID == "":
			errs = append(errs, errors.New("workload with an empty id"))
		case len(w.ID) > maxIDLen:
			errs = append(errs, fmt.Errorf("workload id is longer than %d bytes", maxIDLen))
		case seen[w.ID]:
			errs = append(errs, fmt.Errorf("workload %q listed twice", w.ID))
		}
		seen[w.ID] = true
		if len(w.Ports) > maxPorts {
			errs = append(errs, fmt.Errorf("workload %q has more than %d ports", w.ID, maxPorts))
		}
		for _, p := range w.Ports {
			if p < 1 || p > 65535 {
				errs = append(errs, fmt.Errorf("workload %q port %d is out of range", w.ID, p))
			}
		}
	}
	return errs
}
