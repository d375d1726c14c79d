package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/discovery"
)

// This file builds small labs of network namespaces: one namespace holds a
// bridge, and each host namespace is wired to it by a veth pair, so gossip
// and tunnels cross real interfaces. Nothing is created in the root
// namespace: the veth pairs are made inside the bridge namespace with the
// host end moved out at creation. Every name carries nsPrefix and the
// test's pid, so parallel runs never collide and leftovers of a killed run
// can be found and removed.

// nsPrefix starts every namespace name a lab creates: ztns<pid>x<seq>-<host>.
const nsPrefix = "ztns"

// labSeq tells apart the labs of one test process.
var labSeq atomic.Int32

// requireNetns skips the test unless it runs as root with ip and bridge
// available and allowed to create a namespace.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network-namespace test skipped: it needs root (ip netns add); CI runs it as root")
	}
	for _, tool := range []string{"ip", "bridge", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("network-namespace test skipped: %q (iproute2) is not installed", tool)
		}
	}
	if _, err := os.Stat("/proc/thread-self/ns/net"); err != nil {
		t.Skipf("network-namespace test skipped: no network namespace support: %v", err)
	}
	if _, ok := sysSetns[runtime.GOARCH]; !ok {
		t.Skipf("network-namespace test skipped: setns(2) number unknown on %s", runtime.GOARCH)
	}
}

// netLab is a bridge namespace and the host namespaces wired to it.
type netLab struct {
	tb     testing.TB
	name   string // ztns<pid>x<seq>
	bridge string // namespace holding br0
	hosts  map[string]*nsHost
}

// nsHost is one host: its namespace, its address on the bridge and the
// name of its bridge port (inside the bridge namespace).
type nsHost struct {
	lab  *netLab
	name string
	ns   string
	ip   string
	port string
}

// sh runs an iproute2 command and returns its error with its output.
func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetLab creates the lab for hosts (named "a", "b", ...): addresses
// 10.199.<pid%250>.<i+1>/24, static neighbour entries (so a partition is a
// silent drop, not an ARP failure), and removal of everything at cleanup.
func newNetLab(t *testing.T, hosts ...string) *netLab {
	t.Helper()
	requireNetns(t)
	sweepStaleLabs(t)
	name := fmt.Sprintf("%s%dx%d", nsPrefix, os.Getpid(), labSeq.Add(1))
	l := &netLab{tb: t, name: name, bridge: name + "-br", hosts: map[string]*nsHost{}}
	var made []string
	t.Cleanup(func() {
		for _, ns := range made {
			if err := sh("ip", "netns", "del", ns); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	add := func(ns string) {
		if err := sh("ip", "netns", "add", ns); err != nil {
			t.Skipf("network-namespace test skipped: cannot create a namespace: %v", err)
		}
		made = append(made, ns)
		l.must("ip", "-n", ns, "link", "set", "lo", "up")
	}
	add(l.bridge)
	l.must("ip", "-n", l.bridge, "link", "add", "br0", "type", "bridge")
	l.must("ip", "-n", l.bridge, "link", "set", "br0", "up")
	subnet := fmt.Sprintf("10.199.%d", os.Getpid()%250)
	for i, h := range hosts {
		nh := &nsHost{lab: l, name: h, ns: name + "-" + h, ip: fmt.Sprintf("%s.%d", subnet, i+1), port: "p" + h}
		add(nh.ns)
		l.must("ip", "-n", l.bridge, "link", "add", nh.port, "type", "veth", "peer", "name", "eth0", "netns", nh.ns)
		l.must("ip", "-n", l.bridge, "link", "set", nh.port, "master", "br0")
		l.must("ip", "-n", l.bridge, "link", "set", nh.port, "up")
		l.must("ip", "-n", nh.ns, "addr", "add", nh.ip+"/24", "dev", "eth0")
		l.must("ip", "-n", nh.ns, "link", "set", "eth0", "up")
		l.hosts[h] = nh
	}
	for _, a := range l.hosts {
		for _, b := range l.hosts {
			if a != b {
				l.must("ip", "-n", a.ns, "neigh", "replace", b.ip, "lladdr", b.mac(), "dev", "eth0", "nud", "permanent")
			}
		}
	}
	return l
}

func (l *netLab) must(args ...string) {
	l.tb.Helper()
	if err := sh(args...); err != nil {
		l.tb.Fatal(err)
	}
}

// mac is the hardware address of the host's eth0.
func (h *nsHost) mac() string {
	h.lab.tb.Helper()
	out, err := exec.Command("ip", "-n", h.ns, "-br", "link", "show", "dev", "eth0").Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) < 3 {
		h.lab.tb.Fatalf("mac of %s: %v %q", h.ns, err, out)
	}
	return f[2]
}

// partition cuts h off the bridge: its port stops forwarding, frames are
// dropped silently in both directions (no ICMP, no carrier change).
func (l *netLab) partition(h *nsHost) {
	l.must("bridge", "-n", l.bridge, "link", "set", "dev", h.port, "state", "0")
}

// heal puts h's bridge port back to forwarding.
func (l *netLab) heal(h *nsHost) {
	l.must("bridge", "-n", l.bridge, "link", "set", "dev", h.port, "state", "3")
}

// netemMissing says why netem cannot be used here ("" when it can): it
// tries the qdisc on the loopback of the bridge namespace.
func (l *netLab) netemMissing() string {
	err := sh("tc", "-n", l.bridge, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms")
	if err != nil {
		return "the netem qdisc is missing in this kernel (" + err.Error() + ")"
	}
	l.must("tc", "-n", l.bridge, "qdisc", "del", "dev", "lo", "root")
	return ""
}

// sweepStaleLabs removes namespaces left by a test process that died
// before its cleanup ran (a timeout panic, say): only names with our
// prefix whose pid is gone.
func sweepStaleLabs(tb testing.TB) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f[0], nsPrefix), "x", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); errors.Is(err, os.ErrNotExist) {
			tb.Logf("removing namespace %s left by a dead test process", f[0])
			_ = sh("ip", "netns", "del", f[0])
		}
	}
}

// inNetns runs fn on an OS thread switched into namespace ns. A socket
// created by fn stays in ns for its whole life, whichever thread uses it
// later. If the thread cannot be switched back it is not unlocked, so the
// runtime discards it when the goroutine ends.
func inNetns(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + ns) // iproute2 NETNS_RUN_DIR
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := setns(target.Fd()); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := fn()
	if err := setns(orig.Fd()); err != nil {
		return fmt.Errorf("setns back from %s: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// sysSetns is setns(2)'s number per architecture: package syscall does not
// name it, and golang.org/x/sys is not a direct dependency.
var sysSetns = map[string]uintptr{"amd64": 308, "386": 346, "arm64": 268, "arm": 375, "riscv64": 268, "loong64": 268, "ppc64le": 350, "s390x": 339}

func setns(fd uintptr) error {
	nr, ok := sysSetns[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("setns: syscall number unknown on %s", runtime.GOARCH)
	}
	if _, _, e := syscall.RawSyscall(nr, fd, syscall.CLONE_NEWNET, 0); e != 0 {
		return e
	}
	return nil
}

// dial connects from inside h's namespace.
func (h *nsHost) dial(addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := inNetns(h.ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}

// backend starts an application backend inside h's namespace on
// 127.0.0.1: it writes tag and a newline at once (so a caller knows which
// instance serves it before sending), reads until EOF and answers with the
// SHA-256 in hex of everything it read.
func (h *nsHost) backend(tb testing.TB, tag string) string {
	tb.Helper()
	return h.backendAt(tb, tag, "127.0.0.1:0")
}

// backendAt is backend listening on addr.
func (h *nsHost) backendAt(tb testing.TB, tag, addr string) string {
	tb.Helper()
	var ln net.Listener
	if err := inNetns(h.ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
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
				if _, err := io.WriteString(c, tag+"\n"); err != nil {
					return
				}
				hs := sha256.New()
				if _, err := io.Copy(hs, c); err != nil {
					return
				}
				_, _ = io.WriteString(c, hex.EncodeToString(hs.Sum(nil)))
			}()
		}
	}()
	return ln.Addr().String()
}

// slowBackend starts a backend inside h that writes its host's name and a
// newline at once and then reads slowly (16 KiB every 5ms, a small receive
// buffer), adding what it read to got: a transfer to it stays in flight.
func (h *nsHost) slowBackend(tb testing.TB, got *atomic.Int64) string {
	tb.Helper()
	var ln net.Listener
	if err := inNetns(h.ns, func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
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
				_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
				if _, err := io.WriteString(c, h.name+"\n"); err != nil {
					return
				}
				buf := make([]byte, 16<<10)
				for {
					n, err := c.Read(buf)
					got.Add(int64(n))
					if err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ask sends msg through addr (inside h), half-closes and returns the tag of
// the instance that served it; the hash it answers must match msg.
func (h *nsHost) ask(addr, msg string, timeout time.Duration) (string, error) {
	c, err := h.dial(addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	tag, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("no tag (%q): %w", tag, err)
	}
	sum, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if want := sha256.Sum256([]byte(msg)); string(sum) != hex.EncodeToString(want[:]) {
		return "", fmt.Errorf("hash %q does not match what was sent", sum)
	}
	return strings.TrimSuffix(tag, "\n"), nil
}

// adminGet decodes GET path of the admin API at 127.0.0.1:15000 inside h.
func (h *nsHost) adminGet(path string, v any) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			return h.dial(addr, time.Second)
		},
	}}
	resp, err := hc.Get("http://127.0.0.1:15000" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// memberState is the state h's agent reports for member name ("" if none).
func (h *nsHost) memberState(name string) string {
	var ms []discovery.Member
	if h.adminGet("/v1/members", &ms) != nil {
		return ""
	}
	for _, m := range ms {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// view is h's member list for a log line: "a=alive b=dead c=alive".
func (h *nsHost) view() string {
	var ms []discovery.Member
	if err := h.adminGet("/v1/members", &ms); err != nil {
		return err.Error()
	}
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.Name+"="+m.State)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// ztdemoOnce builds cmd/ztdemo next to ztunnelBin (TestMain removes that
// folder): the transfers run in non-race processes, so the figures measure
// the tunnel rather than the race detector.
var (
	ztdemoOnce sync.Once
	ztdemoBin  string
	ztdemoErr  error
)

func ztdemo(tb testing.TB) string {
	tb.Helper()
	ztdemoOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(ztunnelBin), "ztdemo")
		if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ztdemo").CombinedOutput(); err != nil {
			ztdemoErr = fmt.Errorf("build ztdemo: %v\n%s", err, out)
			return
		}
		ztdemoBin = bin
	})
	if ztdemoErr != nil {
		tb.Fatal(ztdemoErr)
	}
	return ztdemoBin
}

// demoHash runs `ztdemo hash` inside h on addr, answering with h's name
// first; it is killed and reaped at cleanup.
func demoHash(t *testing.T, h *nsHost, addr string) string {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", h.ns, ztdemo(t), "hash", "--listen", addr, "--name", h.name)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	eventually(t, 10*time.Second, "ztdemo hash listening in "+h.name, func() bool {
		c, err := h.dial(addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// demoSend runs `ztdemo send --bytes size` inside h towards addr, checks
// that the backend's hash equals the sender's and returns the name of the
// instance that served it and the throughput in MB/s.
func demoSend(t *testing.T, h *nsHost, addr string, size int, timeout time.Duration) (string, float64) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", h.ns, ztdemo(t), "send", "--addr", addr,
		"--bytes", strconv.Itoa(size), "--timeout", timeout.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("ztdemo send: %v\n%s", err, out)
	}
	var n int
	var sum, took, tag, got string
	var mbps float64
	if _, err := fmt.Sscanf(string(out), "sent %d bytes sha256 %s in %s (%g MB/s)\nanswer: %s\n%s", &n, &sum, &took, &mbps, &tag, &got); err != nil {
		t.Fatalf("ztdemo send printed %q: %v", out, err)
	}
	if n != size || got != sum {
		t.Fatalf("sent %d bytes hashing to %s, the backend hashed %s: bytes were lost or changed", n, sum, got)
	}
	return tag, mbps
}
