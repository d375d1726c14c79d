package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

const (
	benchTrustDomain = "bench.ztunnel.test"
	clientID         = "spiffe://" + benchTrustDomain + "/bench/client"
	serverID         = "spiffe://" + benchTrustDomain + "/bench/server"
	echoPort         = 7001 // exposed ports that agent B maps to the backends
	sinkPort         = 7002
)

// makePKI creates a CA and the client and server leaf certificates in
// dir/pki with the ztunnel binary: pki/ca.crt, pki/client.{crt,key},
// pki/server.{crt,key}. stunnel uses the same files.
func makePKI(bin, dir string) error {
	pki := filepath.Join(dir, "pki")
	runs := [][]string{
		{"ca", "init", "--dir", pki, "--trust-domain", benchTrustDomain},
		{"cert", "issue", "--ca", pki, "--id", clientID, "--out", filepath.Join(pki, "client"), "--ttl", "2h"},
		{"cert", "issue", "--ca", pki, "--id", serverID, "--out", filepath.Join(pki, "server"), "--ttl", "2h"},
	}
	for _, args := range runs {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", bin, args[0], err, out)
		}
	}
	return nil
}

const policyHCL = `default = "deny"

rule "bench" {
  action = "allow"
  from   = [%q]
  to     = [%q]
}
`

const agentAHCL = `node_name = "bench-a"
data_dir  = "state-a"
log_level = %q

trust {
  trust_domain = %q
  bundle       = "../pki/ca.crt"
  crls         = ["../pki/ca.crl"]
}

tunnel {
  listen = %q
}

admin {
  listen = %q
  pprof  = true
}

policy {
  file = "policy.hcl"
}

workload "client" {
  id   = %q
  cert = "../pki/client.crt"
  key  = "../pki/client.key"

  upstream "echo" {
    listen = %q
    target = %q
    port   = %d
  }
  upstream "sink" {
    listen = %q
    target = %q
    port   = %d
  }
}

peer "bench-b" {
  address   = %q
  workloads = [%q]
}
`

const agentBHCL = `node_name = "bench-b"
data_dir  = "state-b"
log_level = %q

trust {
  trust_domain = %q
  bundle       = "../pki/ca.crt"
  crls         = ["../pki/ca.crl"]
}

tunnel {
  listen = %q
}

admin {
  listen = %q
  pprof  = true
}

policy {
  file = "policy.hcl"
}

workload "server" {
  id   = %q
  cert = "../pki/server.crt"
  key  = "../pki/server.key"

  expose {
    port    = %d
    backend = %q
  }
  expose {
    port    = %d
    backend = %q
  }
}
`

// zVariant is one ztunnel build to measure: the name it has in the table,
// its binary and what it adds to the agents' environment.
type zVariant struct {
	name, bin string
	env       []string
}

// startZtunnel writes two agent configs into dir/NAME (dir holds the PKI)
// and starts agent B (exposing the backends) and agent A (upstream
// listeners), waits until both are ready and the tunnel carries a round
// trip.
func startZtunnel(v zVariant, root, logLevel string, b *backends) (*system, error) {
	dir := filepath.Join(root, v.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	tunA, adminA, echoA, sinkA, tunB, adminB := p[0], p[1], p[2], p[3], p[4], p[5]
	files := map[string]string{
		"policy.hcl": fmt.Sprintf(policyHCL, clientID, serverID),
		"a.hcl": fmt.Sprintf(agentAHCL, logLevel, benchTrustDomain, tunA, adminA, clientID,
			echoA, serverID, echoPort, sinkA, serverID, sinkPort, tunB, serverID),
		"b.hcl": fmt.Sprintf(agentBHCL, logLevel, benchTrustDomain, tunB, adminB, serverID,
			echoPort, b.EchoAddr(), sinkPort, b.SinkAddr()),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	s := &system{
		Name: v.name, Echo: echoA, Sink: sinkA,
		Admin: map[string]string{"agent-b": adminB, "agent-a": adminA},
	}
	for _, a := range []struct{ name, admin string }{{"b", adminB}, {"a", adminA}} {
		s.specs = append(s.specs, procSpec{
			name:  v.name + " agent " + a.name,
			log:   filepath.Join(dir, "agent-"+a.name+".log"),
			bin:   v.bin,
			args:  []string{"agent", "--config", filepath.Join(dir, a.name+".hcl")},
			ready: httpReady("http://" + a.admin + "/readyz"),
			env:   v.env,
		})
	}
	return s, s.start()
}
