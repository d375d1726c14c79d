package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// agentConfig renders an agent config file for the tests, so each test
// states only what differs: its workloads, peers and gossip.
type agentConfig struct {
	Name      string
	DataDir   string
	Trust     string // a trust block (trustBlock)
	Listen    string // tunnel.listen; default 127.0.0.1:0
	Advertise string // tunnel.advertise; default 127.0.0.1:0 (the bound port is advertised)
	Admin     string // admin.listen; default 127.0.0.1:0
	Metrics   string // admin.metrics_listen; "" = none
	Policy    string // policy file; "" = no policy block
	Extra     string // more top-level HCL (log_format, shutdown_timeout, a gossip block, ...)
	Workloads []workloadConfig
	Peers     []peerConfig
}

type workloadConfig struct {
	Name, ID  string
	Cert, Key string
	// Enroll instead of Cert/Key: the CA server and token file.
	EnrollServer, EnrollToken string
	Upstreams                 []upstreamConfig
	Exposes                   []exposeConfig
}

type upstreamConfig struct {
	Name, Listen, Target string // Listen default 127.0.0.1:0
	Port                 int
}

type exposeConfig struct {
	Port    int
	Backend string
}

type peerConfig struct {
	Name, Address string
	Workloads     []string
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (c agentConfig) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "node_name = %q\ndata_dir = %q\n%s\n", c.Name, c.DataDir, c.Trust)
	fmt.Fprintf(&b, "tunnel {\n  listen = %q\n  advertise = %q\n}\n", or(c.Listen, "127.0.0.1:0"), or(c.Advertise, "127.0.0.1:0"))
	fmt.Fprintf(&b, "admin {\n  listen = %q\n", or(c.Admin, "127.0.0.1:0"))
	if c.Metrics != "" {
		fmt.Fprintf(&b, "  metrics_listen = %q\n", c.Metrics)
	}
	b.WriteString("}\n")
	if c.Policy != "" {
		fmt.Fprintf(&b, "policy {\n  file = %q\n}\n", c.Policy)
	}
	b.WriteString(c.Extra + "\n")
	for _, w := range c.Workloads {
		fmt.Fprintf(&b, "workload %q {\n  id = %q\n", w.Name, w.ID)
		if w.EnrollServer != "" {
			fmt.Fprintf(&b, "  enroll {\n    server = %q\n    token_file = %q\n  }\n", w.EnrollServer, w.EnrollToken)
		} else {
			fmt.Fprintf(&b, "  cert = %q\n  key = %q\n", w.Cert, w.Key)
		}
		for _, u := range w.Upstreams {
			fmt.Fprintf(&b, "  upstream %q {\n    listen = %q\n    target = %q\n    port = %d\n  }\n",
				u.Name, or(u.Listen, "127.0.0.1:0"), u.Target, u.Port)
		}
		for _, e := range w.Exposes {
			fmt.Fprintf(&b, "  expose {\n    port = %d\n    backend = %q\n  }\n", e.Port, e.Backend)
		}
		b.WriteString("}\n")
	}
	for _, p := range c.Peers {
		fmt.Fprintf(&b, "peer %q {\n  address = %q\n  workloads = [%s]\n}\n", p.Name, p.Address, quoteList(p.Workloads))
	}
	return b.String()
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// serveTCP accepts connections on a loopback port until the test ends and
// hands each to handle in its own goroutine; it returns the address.
func serveTCP(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}
