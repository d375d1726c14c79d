package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// errNoStunnel is returned when no stunnel binary is found.
var errNoStunnel = errors.New("stunnel is not installed (apt-get install stunnel4)")

// findStunnel returns the stunnel binary: path when set, else stunnel4 or
// stunnel from $PATH. With install set and running as root, it runs
// apt-get to install stunnel4 when neither is found.
func findStunnel(path string, install bool, log func(string)) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("stunnel binary %q not found: %w", path, err)
		}
		return p, nil
	}
	look := func() (string, error) {
		for _, name := range []string{"stunnel4", "stunnel"} {
			if p, err := exec.LookPath(name); err == nil {
				return p, nil
			}
		}
		return "", errNoStunnel
	}
	p, err := look()
	if err == nil || !install {
		return p, err
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w; not root, so not installing it", errNoStunnel)
	}
	log("stunnel not found: installing stunnel4 with apt-get")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "stunnel4"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get %s: %v: %s", args[0], err, out)
		}
	}
	return look()
}

// stunnelGlobal is the head of each stunnel config. Logging at warning
// keeps stunnel from logging every connection (its default, notice, does):
// ztunnel logs no line per stream either.
const stunnelGlobal = `foreground = yes
pid = %s
debug = warning
`

// stunnelService is one service: TLS 1.3 only, mutual TLS with the chain
// checked against the bench CA and its CRL, TCP_NODELAY on both sides.
const stunnelService = `
[%s]
client = %s
accept = %s
connect = %s
cert = %s
key = %s
CAfile = %s
CRLfile = %s
verifyChain = yes
requireCert = yes
sslVersion = TLSv1.3
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
`

// startStunnel starts a server stunnel (TLS in, plain TCP to the backends)
// and a client stunnel (plain TCP in from the app, TLS to the server), with
// the certificates in dir/pki, and waits until a round trip goes through.
func startStunnel(bin, dir string, b *backends) (*system, error) {
	p, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	echoC, sinkC, echoS, sinkS := p[0], p[1], p[2], p[3]
	pki := func(f string) string { return filepath.Join(dir, "pki", f) }
	conf := func(side string, services ...[3]string) string {
		var sb strings.Builder
		fmt.Fprintf(&sb, stunnelGlobal, filepath.Join(dir, "stunnel-"+side+".pid"))
		name := "client"
		if side == "server" {
			name = "server"
		}
		for _, s := range services {
			fmt.Fprintf(&sb, stunnelService, s[0], map[bool]string{true: "yes", false: "no"}[side == "client"],
				s[1], s[2], pki(name+".crt"), pki(name+".key"), pki("ca.crt"), pki("ca.crl"))
		}
		return sb.String()
	}
	files := map[string]string{
		"stunnel-server.conf": conf("server", [3]string{"echo", echoS, b.EchoAddr()}, [3]string{"sink", sinkS, b.SinkAddr()}),
		"stunnel-client.conf": conf("client", [3]string{"echo", echoC, echoS}, [3]string{"sink", sinkC, sinkS}),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	s := &system{Name: "stunnel", Echo: echoC, Sink: sinkC}
	for _, side := range []string{"server", "client"} {
		s.specs = append(s.specs, procSpec{
			name: "stunnel " + side,
			log:  filepath.Join(dir, "stunnel-"+side+".log"),
			bin:  bin,
			args: []string{filepath.Join(dir, "stunnel-"+side+".conf")},
		})
	}
	return s, s.start()
}
