package config

import (
	"flag"
	"net"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestMain pins the host facts that defaults depend on, so that results do
// not depend on the machine: host name "testhost", one non-loopback IPv4
// address 192.0.2.7.
func TestMain(m *testing.M) {
	hostname = func() (string, error) { return "testhost", nil }
	interfaceAddrs = fakeAddrs("127.0.0.1/8", "fe80::1/64", "192.0.2.7/24", "198.51.100.1/24")
	os.Exit(m.Run())
}

func fakeAddrs(cidrs ...string) func() ([]net.Addr, error) {
	return func() ([]net.Addr, error) {
		var out []net.Addr
		for _, c := range cidrs {
			ip, n, err := net.ParseCIDR(c)
			if err != nil {
				return nil, err
			}
			n.IP = ip
			out = append(out, n)
		}
		return out, nil
	}
}
