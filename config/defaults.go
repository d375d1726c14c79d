package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// Defaults of the keys a file may leave out (DESIGN §5 and runtime.go).
const (
	DefaultDataDir         = "/var/lib/ztunnel"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultShutdownTimeout = 30 * time.Second
	// MaxProcsLimit is the largest max_procs accepted.
	MaxProcsLimit             = 1024
	DefaultRevocation         = "fail_closed"
	DefaultTunnelListen       = "0.0.0.0:15008"
	DefaultHandshakeTimeout   = 10 * time.Second
	DefaultMaxHandshakes      = 256
	DefaultStreamsPerSession  = 512
	DefaultSessionsPerPeer    = 8
	DefaultConnsPerUpstream   = 4096
	DefaultMaxStreams         = 4096
	DefaultStreamWindow       = 1 << 20
	MinStreamWindow           = 256 << 10 // yamux's own initial window
	MaxStreamWindow           = 64 << 20
	DefaultDialTimeout        = 5 * time.Second
	DefaultBackendDialTimeout = 5 * time.Second
	DefaultGossipListen       = "0.0.0.0:7946"
	DefaultAdminListen        = "127.0.0.1:15000"

	// MaxLimit bounds the tunnel's count limits: a larger value is a typo
	// more often than a plan, and it would defeat the limit.
	MaxLimit = 1 << 20
)

// The host facts that defaults depend on; tests replace them.
var (
	hostname       = os.Hostname
	interfaceAddrs = net.InterfaceAddrs
)

// deriveAdvertise returns the address to tell peers for a canonical listen
// address: the listen address itself when its host is a specific IP, else
// the first non-loopback IPv4 address of the host's interfaces, else
// 127.0.0.1; always with the listen port (0 stays 0: the agent then
// advertises the port it bound). guessed is true unless the listen address
// was used as is.
func deriveAdvertise(listen string) (adv string, guessed bool) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", false
	}
	if ip, err := netip.ParseAddr(host); err == nil && !ip.IsUnspecified() {
		return listen, false
	}
	return net.JoinHostPort(firstIPv4().String(), port), true
}

func firstIPv4() netip.Addr {
	addrs, err := interfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if ok && ip.Unmap().Is4() && !ip.IsLoopback() && !ip.IsUnspecified() && !ip.IsLinkLocalUnicast() {
				return ip.Unmap()
			}
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// guessWarning is the warning for a derived advertise address.
func guessWarning(file, key, adv string) string {
	return fmt.Sprintf("%s: %s is not set; guessed %s from this host's interfaces (set it if peers cannot reach that address)", file, key, adv)
}
