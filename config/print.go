package config

import (
	"io"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Print writes c as canonical HCL that Load accepts again: every key with
// its resolved value (absolute paths, defaults filled in, durations
// normalized by time.Duration.String), in the order of DESIGN §5. Warnings
// and File are not part of the output.
func Print(w io.Writer, c *Config) error {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	setString(root, "node_name", c.NodeName)
	setString(root, "data_dir", c.DataDir)
	setString(root, "log_level", c.LogLevel)
	setString(root, "log_format", c.LogFormat)
	setDuration(root, "shutdown_timeout", c.ShutdownTimeout)
	setInt(root, "max_procs", c.MaxProcs)

	root.AppendNewline()
	t := root.AppendNewBlock("trust", nil).Body()
	setString(t, "trust_domain", c.Trust.TrustDomain)
	setString(t, "bundle", c.Trust.Bundle)
	setStrings(t, "crls", c.Trust.CRLs)
	setString(t, "revocation", c.Trust.Revocation)

	root.AppendNewline()
	tun := root.AppendNewBlock("tunnel", nil).Body()
	setString(tun, "listen", c.Tunnel.Listen)
	setString(tun, "advertise", c.Tunnel.Advertise)
	setDuration(tun, "handshake_timeout", c.Tunnel.HandshakeTimeout)
	setInt(tun, "max_handshakes", c.Tunnel.MaxHandshakes)
	setInt(tun, "streams_per_session", c.Tunnel.StreamsPerSession)
	setInt(tun, "sessions_per_peer", c.Tunnel.SessionsPerPeer)
	setInt(tun, "conns_per_upstream", c.Tunnel.ConnsPerUpstream)
	setInt(tun, "max_streams", c.Tunnel.MaxStreams)
	setInt(tun, "max_handshakes_per_ip", c.Tunnel.HandshakesPerIP)
	setInt(tun, "pending_streams_per_peer", c.Tunnel.PendingPerPeer)
	setInt(tun, "stream_window", c.Tunnel.StreamWindow)
	setDuration(tun, "dial_timeout", c.Tunnel.DialTimeout)
	setDuration(tun, "backend_dial_timeout", c.Tunnel.BackendDialTimeout)

	if g := c.Gossip; g != nil {
		root.AppendNewline()
		gb := root.AppendNewBlock("gossip", nil).Body()
		setString(gb, "listen", g.Listen)
		setString(gb, "advertise", g.Advertise)
		setStrings(gb, "join", g.Join)
		setString(gb, "key_file", g.KeyFile)
	}

	root.AppendNewline()
	ab := root.AppendNewBlock("admin", nil).Body()
	setString(ab, "listen", c.Admin.Listen)
	ab.SetAttributeValue("pprof", cty.BoolVal(c.Admin.Pprof))
	if c.Admin.MetricsListen != "" {
		setString(ab, "metrics_listen", c.Admin.MetricsListen)
	}

	if c.Policy.File != "" {
		root.AppendNewline()
		setString(root.AppendNewBlock("policy", nil).Body(), "file", c.Policy.File)
	}

	for _, wl := range c.Workloads {
		root.AppendNewline()
		printWorkload(root.AppendNewBlock("workload", []string{wl.Name}).Body(), wl)
	}
	for _, p := range c.Peers {
		root.AppendNewline()
		pb := root.AppendNewBlock("peer", []string{p.Name}).Body()
		setString(pb, "address", p.Address)
		setStrings(pb, "workloads", p.Workloads)
	}
	_, err := w.Write(hclwrite.Format(f.Bytes()))
	return err
}

func printWorkload(b *hclwrite.Body, wl Workload) {
	setString(b, "id", wl.ID)
	if wl.Enroll != nil {
		eb := b.AppendNewBlock("enroll", nil).Body()
		setString(eb, "server", wl.Enroll.Server)
		setString(eb, "token_file", wl.Enroll.TokenFile)
	} else {
		setString(b, "cert", wl.Cert)
		setString(b, "key", wl.Key)
	}
	for _, u := range wl.Upstreams {
		b.AppendNewline()
		ub := b.AppendNewBlock("upstream", []string{u.Name}).Body()
		setString(ub, "listen", u.Listen)
		setString(ub, "target", u.Target)
		setInt(ub, "port", u.Port)
		if len(u.Pins) > 0 {
			setStrings(ub, "pin", u.Pins)
		}
	}
	for _, e := range wl.Expose {
		b.AppendNewline()
		xb := b.AppendNewBlock("expose", nil).Body()
		setInt(xb, "port", e.Port)
		setString(xb, "backend", e.Backend)
	}
}

func setString(b *hclwrite.Body, name, v string) { b.SetAttributeValue(name, cty.StringVal(v)) }

func setInt(b *hclwrite.Body, name string, v int) {
	b.SetAttributeValue(name, cty.NumberIntVal(int64(v)))
}

func setDuration(b *hclwrite.Body, name string, d time.Duration) {
	b.SetAttributeValue(name, cty.StringVal(d.String()))
}

func setStrings(b *hclwrite.Body, name string, vs []string) {
	if len(vs) == 0 {
		b.SetAttributeValue(name, cty.ListValEmpty(cty.String))
		return
	}
	vals := make([]cty.Value, len(vs))
	for i, v := range vs {
		vals[i] = cty.StringVal(v)
	}
	b.SetAttributeValue(name, cty.ListVal(vals))
}
