package agent

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/policy"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

// This file turns the runtime config into each component's own config. It
// is the one place that knows both sides, so component packages never
// import config.

func newStore(cfg *config.Config, log hclog.Logger) (*identity.Store, error) {
	sc := identity.StoreConfig{
		TrustDomain: cfg.Trust.TrustDomain,
		BundleFile:  cfg.Trust.Bundle,
		CRLFiles:    cfg.Trust.CRLs,
		Revocation:  cfg.Trust.Revocation,
		Logger:      log,
	}
	for _, w := range cfg.Workloads {
		sc.Workloads = append(sc.Workloads, identity.WorkloadConfig{ID: w.ID, CertFile: w.Cert, KeyFile: w.Key})
	}
	return identity.NewStore(sc)
}

func loadPolicy(cfg *config.Config) (*policy.Policy, error) {
	if cfg.Policy.File == "" {
		return policy.DenyAll(), nil
	}
	return policy.Load(cfg.Policy.File)
}

func tunnelConfig(cfg *config.Config) tunnel.Config {
	tc := tunnel.DefaultConfig()
	tc.Listen = cfg.Tunnel.Listen
	tc.HandshakeTimeout = cfg.Tunnel.HandshakeTimeout
	tc.MaxHandshakes = cfg.Tunnel.MaxHandshakes
	tc.StreamsPerSession = cfg.Tunnel.StreamsPerSession
	tc.SessionsPerPeer = cfg.Tunnel.SessionsPerPeer
	tc.ConnsPerUpstream = cfg.Tunnel.ConnsPerUpstream
	tc.MaxStreams = cfg.Tunnel.MaxStreams
	tc.HandshakesPerIP = cfg.Tunnel.HandshakesPerIP
	tc.PendingPerPeer = cfg.Tunnel.PendingPerPeer
	tc.StreamWindow = cfg.Tunnel.StreamWindow
	tc.DialTimeout = cfg.Tunnel.DialTimeout
	tc.BackendDialTimeout = cfg.Tunnel.BackendDialTimeout
	tc.Upstreams, tc.Exposes = routes(cfg)
	return tc
}

func routes(cfg *config.Config) ([]tunnel.Upstream, []tunnel.Expose) {
	var ups []tunnel.Upstream
	var exps []tunnel.Expose
	for _, w := range cfg.Workloads {
		for _, u := range w.Upstreams {
			ups = append(ups, tunnel.Upstream{Source: w.ID, Name: u.Name, Listen: u.Listen, Target: u.Target, Port: u.Port, Pins: u.Pins})
		}
		for _, e := range w.Expose {
			exps = append(exps, tunnel.Expose{Workload: w.ID, Port: e.Port, Backend: e.Backend})
		}
	}
	return ups, exps
}

func staticPeers(cfg *config.Config) []discovery.Peer {
	peers := make([]discovery.Peer, 0, len(cfg.Peers))
	for _, p := range cfg.Peers {
		peers = append(peers, discovery.Peer{Name: p.Name, Address: p.Address, Workloads: p.Workloads})
	}
	return peers
}

// localWorkloads is what this node tells gossip it serves: every workload
// with at least one expose block, with its ports, leaving out those whose
// certificate usable (when not nil) rejects: an expired or revoked one that
// every caller would refuse.
func localWorkloads(cfg *config.Config, usable func(id string) bool) []discovery.Workload {
	var out []discovery.Workload
	for _, w := range cfg.Workloads {
		if len(w.Expose) == 0 || (usable != nil && !usable(w.ID)) {
			continue
		}
		dw := discovery.Workload{ID: w.ID}
		for _, e := range w.Expose {
			dw.Ports = append(dw.Ports, e.Port)
		}
		out = append(out, dw)
	}
	return out
}

// advertisedTunnel is the tunnel address told to peers: the configured
// advertise address, with the bound port when the config says port 0.
func advertisedTunnel(cfg *config.Config, bound net.Addr) string {
	host, port, err := net.SplitHostPort(cfg.Tunnel.Advertise)
	if err != nil || port != "0" || bound == nil {
		return cfg.Tunnel.Advertise
	}
	_, boundPort, _ := net.SplitHostPort(bound.String())
	return net.JoinHostPort(host, boundPort)
}

func newGossip(cfg *config.Config, tunnelAddr string, log hclog.Logger) (*discovery.Gossip, error) {
	keys, err := discovery.LoadKeyFile(cfg.Gossip.KeyFile)
	if err != nil {
		return nil, err
	}
	gc := discovery.DefaultConfig()
	gc.NodeName = cfg.NodeName
	gc.BindAddr = cfg.Gossip.Listen
	gc.Advertise = cfg.Gossip.Advertise
	gc.Join = cfg.Gossip.Join
	gc.Keys = keys
	gc.TunnelAddr = tunnelAddr
	gc.Workloads = localWorkloads(cfg, nil) // a start with an unusable certificate fails
	gc.Logger = log
	return discovery.New(gc)
}

// fileSet lists every file whose change on disk triggers a reload.
func fileSet(cfg *config.Config) []string {
	files := []string{cfg.File, cfg.Trust.Bundle}
	files = append(files, cfg.Trust.CRLs...)
	if cfg.Policy.File != "" {
		files = append(files, cfg.Policy.File)
	}
	if cfg.Gossip != nil {
		files = append(files, cfg.Gossip.KeyFile)
	}
	for _, w := range cfg.Workloads {
		if w.Cert != "" {
			files = append(files, w.Cert, w.Key)
		}
	}
	return files
}

// sameIdentityShape reports whether two configs name the same trust settings
// and workload files, so a reload can re-read files in the existing store
// instead of building a new one.
func sameIdentityShape(a, b *config.Config) bool {
	return fmt.Sprint(a.Trust, identityFiles(a)) == fmt.Sprint(b.Trust, identityFiles(b))
}

func identityFiles(c *config.Config) string {
	var b strings.Builder
	for _, w := range c.Workloads {
		fmt.Fprintf(&b, "%s|%s|%s;", w.ID, w.Cert, w.Key)
	}
	return b.String()
}

// fileStamp is what the watcher compares: os.Stat follows symlinks, so a
// Kubernetes-style symlink swap or an atomic rename changes it.
type fileStamp struct {
	size  int64
	mtime int64
	ino   uint64
	err   bool
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(filepath.Clean(path))
	if err != nil {
		return fileStamp{err: true}
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ino: inode(fi)}
}
