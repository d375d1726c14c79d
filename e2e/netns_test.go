package e2e

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/discovery"
)

// The tests in this file run each agent as a `ztunnel agent` process in its
// own network namespace (netns_helpers_test.go): gossip and tunnels cross
// veth pairs and a bridge, and faults are made on the wire (a bridge port
// that stops forwarding, netem) or to the process (SIGKILL). They need
// root and skip with a message otherwise.

// Fixed ports are safe here: each namespace has its own loopback and
// addresses.
const (
	nsTunnelPort = "15008"
	nsGossipPort = "7946"
	nsUpstream   = "127.0.0.1:9001" // frontend's payments upstream, inside its host
)

// netnsMesh is a lab plus the shared PKI, gossip key and policy.
type netnsMesh struct {
	lab     *netLab
	p       *pki
	dir     string
	keyFile string
	policy  string
}

func newNetnsMesh(t *testing.T, hosts ...string) *netnsMesh {
	t.Helper()
	lab := newNetLab(t, hosts...)
	m := &netnsMesh{lab: lab, p: newPKI(t), dir: t.TempDir()}
	key, err := discovery.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	m.keyFile = filepath.Join(m.dir, "gossip.key")
	writeFile(t, m.keyFile, key+"\n")
	m.policy = filepath.Join(m.dir, "policy.hcl")
	writeFile(t, m.policy, allowFrontendPolicy)
	return m
}

// agentConfig is the part of every host's config that does not depend on
// its workloads. Timeouts are short so that the tests stay short: a stale
// session's stream gives up on its status after 3s, a dead peer's dial
// after 2s.
func (m *netnsMesh) agentConfig(h *nsHost, seed *nsHost) string {
	join := ""
	if seed != nil && seed != h {
		join = fmt.Sprintf("join = [%q]", net.JoinHostPort(seed.ip, nsGossipPort))
	}
	tun := net.JoinHostPort(h.ip, nsTunnelPort)
	gos := net.JoinHostPort(h.ip, nsGossipPort)
	dataDir := filepath.Join(m.dir, h.name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		m.lab.tb.Fatal(err)
	}
	return fmt.Sprintf(`
node_name = %q
data_dir = %q
%s
tunnel {
  listen = %q
  advertise = %q
  handshake_timeout = "3s"
  dial_timeout = "2s"
}
gossip {
  listen = %q
  advertise = %q
  key_file = %q
  %s
}
admin  { listen = "127.0.0.1:15000" }
policy { file = %q }
shutdown_timeout = "1s"
`, h.name, dataDir, trustBlock(m.p), tun, tun, gos, gos, m.keyFile, join, m.policy)
}

// payments runs an agent in h exposing payments, backed by h.backend
// answering with h's name.
func (m *netnsMesh) payments(t *testing.T, h, seed *nsHost) *proc {
	t.Helper()
	return m.paymentsAt(t, h, seed, h.backend(t, h.name))
}

// paymentsAt is payments with the given backend address (inside h).
func (m *netnsMesh) paymentsAt(t *testing.T, h, seed *nsHost, backend string) *proc {
	t.Helper()
	c, k := m.p.issue(t, h.name, idPayments)
	return m.startAgent(t, h, m.agentConfig(h, seed)+fmt.Sprintf(`
workload "payments" {
  id = %q
  cert = %q
  key = %q
  expose {
    port = 8443
    backend = %q
  }
}
`, idPayments, c, k, backend))
}

// frontend runs an agent in h with the payments upstream at nsUpstream.
func (m *netnsMesh) frontend(t *testing.T, h, seed *nsHost) *proc {
	t.Helper()
	c, k := m.p.issue(t, h.name, idFrontend)
	return m.startAgent(t, h, m.agentConfig(h, seed)+fmt.Sprintf(`
workload "frontend" {
  id = %q
  cert = %q
  key = %q
  upstream "payments" {
    listen = %q
    target = %q
    port = 8443
  }
}
`, idFrontend, c, k, nsUpstream, idPayments))
}

// startAgent runs `ip netns exec NS ztunnel agent` (ip execs the agent in
// place, so the pid is the agent's) and waits until its /readyz answers.
// At cleanup it is killed and reaped before the lab's namespaces go.
func (m *netnsMesh) startAgent(t *testing.T, h *nsHost, hcl string) *proc {
	t.Helper()
	file := filepath.Join(m.dir, h.name+".hcl")
	writeFile(t, file, hcl)
	p := &proc{cmd: exec.Command("ip", "netns", "exec", h.ns, ztunnelBin, "agent", "--config", file), log: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("agent %s did not exit after SIGKILL", h.name)
		}
		if t.Failed() {
			t.Logf("log of agent %s:\n%s", h.name, p.log.String())
		}
	})
	eventually(t, 10*time.Second, "agent "+h.name+" ready", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("agent %s exited: %v\n%s", h.name, err, p.log.String())
		default:
		}
		return h.adminGet("/readyz", nil) == nil
	})
	return p
}

// payers is the set of payments instances that h's agent knows alive.
func payers(h *nsHost) []string {
	var ms []discovery.Member
	if h.adminGet("/v1/members", &ms) != nil {
		return nil
	}
	var out []string
	for _, mb := range ms {
		for _, w := range mb.Workloads {
			if w.ID == idPayments && mb.State == discovery.StateAlive {
				out = append(out, mb.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitPayers waits until h knows exactly want alive and returns how long it took.
func waitPayers(t *testing.T, h *nsHost, d time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, d, fmt.Sprintf("%s to know payments at %v", h.name, want), func() bool {
		return slices.Equal(payers(h), want)
	})
	return time.Since(start)
}

// spread asks n times through c's upstream and counts the instances that answered.
func spread(t *testing.T, c *nsHost, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i := range n {
		tag, err := c.ask(nsUpstream, fmt.Sprintf("pay %d", i), 10*time.Second)
		if err != nil {
			t.Fatalf("connection %d from %s: %v", i, c.name, err)
		}
		seen[tag]++
	}
	return seen
}

// isTimeout reports a dial that got no answer at all (a silent drop).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestNetnsPartitionHeal: three hosts on one bridge, gossip only (all join
// a). c's frontend reaches both payments instances (a, b). b is cut off
// silently: c keeps connecting (through a), and once c declares b dead no
// connection may fail. The partition lasts until both sides have declared
// each other dead, then heals: b is alive again at c (by b's rejoin, within
// its 30s interval) and serves connections again.
func TestNetnsPartitionHeal(t *testing.T) { netnsPartitionHeal(t, 0) }

// TestNetnsLongPartitionHeal holds the partition for 40s (or the duration
// ZTUNNEL_NETNS_LONG gives): once both sides have declared each other dead
// and their pending broadcasts are spent, memberlist sends nothing to the
// dead, so healing is left to the agents' periodic rejoin (every 30s). It
// takes over a minute and runs only when ZTUNNEL_NETNS_LONG is set.
func TestNetnsLongPartitionHeal(t *testing.T) {
	v := os.Getenv("ZTUNNEL_NETNS_LONG")
	if v == "" {
		t.Skip("skipped: a 40s partition; set ZTUNNEL_NETNS_LONG=1 (or a duration) to run it")
	}
	hold, err := time.ParseDuration(v)
	if err != nil {
		hold = 40 * time.Second
	}
	netnsPartitionHeal(t, hold)
}

// netnsPartitionHeal is the partition test. The partition lasts until c
// has declared b dead, 20 connections succeeded after that, and b has
// declared a and c dead; and at least hold.
func netnsPartitionHeal(t *testing.T, hold time.Duration) {
	m := newNetnsMesh(t, "a", "b", "c")
	a, b, c := m.lab.hosts["a"], m.lab.hosts["b"], m.lab.hosts["c"]
	start := time.Now()
	m.payments(t, a, nil)
	m.payments(t, b, a)
	m.frontend(t, c, a)
	conv := waitPayers(t, c, 15*time.Second, "a", "b")
	t.Logf("agents started and c's catalog converged in %v (%v after c was ready)", time.Since(start), conv)

	if seen := spread(t, c, 20); seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("connections not spread over a and b: %v", seen)
	}
	// Every member knows every other before the cut, so what follows does
	// not depend on how far gossip had got.
	full := "a=alive b=alive c=alive"
	eventually(t, 15*time.Second, "a full mesh", func() bool { return a.view() == full && b.view() == full && c.view() == full })
	t.Logf("full mesh (every member alive at every member) %v after start", time.Since(start))

	m.lab.partition(b)
	cut := time.Now()
	if _, err := a.dial(net.JoinHostPort(b.ip, nsTunnelPort), 500*time.Millisecond); !isTimeout(err) {
		t.Fatalf("the partition is not a silent drop: dial a->b got %v, want a timeout", err)
	}
	dead, stop := make(chan time.Duration, 1), make(chan struct{})
	defer close(stop)
	go func() {
		for time.Since(cut) < 60*time.Second {
			select {
			case <-stop:
				return
			default:
			}
			if c.memberState("b") == discovery.StateDead {
				dead <- time.Since(cut)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var detect time.Duration
	var window []time.Duration // connection times before b was declared dead
	failures, after := 0, 0
	for after < 20 {
		if time.Since(cut) > 60*time.Second {
			t.Fatal("c did not declare b dead within 60s of the partition")
		}
		select {
		case detect = <-dead:
		default:
		}
		t0 := time.Now()
		tag, err := c.ask(nsUpstream, "during partition", 15*time.Second)
		took := time.Since(t0)
		switch {
		case detect == 0 && err != nil:
			failures++
			t.Logf("connection during the detection window failed after %v: %v", took, err)
		case detect == 0:
			window = append(window, took)
		case err != nil || tag != "a":
			t.Fatalf("connection %d after b was declared dead: %q %v", after, tag, err)
		default:
			after++
		}
	}
	slowest, med := durStats(window)
	t.Logf("b declared dead by c %v after the partition; detection window: %d connections ok (slowest %v, median %v), %d failed",
		detect, len(window), slowest, med, failures)

	// Both sides give up on each other: from here on memberlist sends
	// nothing across the cut once its pending broadcasts are spent, and
	// only b's periodic rejoin of its join address (a) heals the cluster.
	eventually(t, 30*time.Second, "b to declare a and c dead", func() bool {
		return b.memberState("a") == discovery.StateDead && b.memberState("c") == discovery.StateDead
	})
	t.Logf("b declared a and c dead %v after the partition", time.Since(cut))
	if wait := hold - time.Since(cut); wait > 0 {
		t.Logf("holding the partition %v more", wait.Round(time.Second))
		time.Sleep(wait)
	}
	t.Logf("healing after a partition of %v; b sees [%s], c sees [%s]", time.Since(cut).Round(time.Second), b.view(), c.view())
	m.lab.heal(b)
	healed := time.Now()
	waitPayers(t, c, 75*time.Second, "a", "b")
	alive := time.Since(healed)
	eventually(t, 30*time.Second, "a connection served by b again", func() bool {
		tag, err := c.ask(nsUpstream, "after heal", 10*time.Second)
		return err == nil && tag == "b"
	})
	t.Logf("partition healed: b alive at c after %v, serving c's connections after %v", alive, time.Since(healed))
}

// durStats returns the largest and the median of ds (zeros when empty).
func durStats(ds []time.Duration) (slowest, median time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)-1], ds[len(ds)/2]
}

// TestNetnsTransferIntegrity: multi-MiB transfers c -> a across the veth
// pairs and the bridge, hashed end to end by ztdemo processes; then the
// same with delay and loss (netem) on both hosts' interfaces, where the
// kernel has netem.
func TestNetnsTransferIntegrity(t *testing.T) {
	m := newNetnsMesh(t, "a", "c")
	a, c := m.lab.hosts["a"], m.lab.hosts["c"]
	m.paymentsAt(t, a, nil, demoHash(t, a, "127.0.0.1:18443"))
	m.frontend(t, c, a)
	waitPayers(t, c, 15*time.Second, "a")

	t.Run("clean", func(t *testing.T) {
		const size = 256 << 20
		tag, mbps := demoSend(t, c, nsUpstream, size, 60*time.Second)
		// The same programs over plain TCP on the same path, for comparison.
		_, raw := demoSend(t, c, demoHash(t, a, net.JoinHostPort(a.ip, "18444")), size, 60*time.Second)
		t.Logf("%d MiB c -> %s intact at %.1f MB/s through the tunnel (plain TCP on the same veth path: %.1f MB/s)", size>>20, tag, mbps, raw)
	})
	t.Run("tbf 40mbit tail drops", func(t *testing.T) {
		// A token bucket with a short queue on c's interface: the sender
		// outruns it, packets are dropped and TCP retransmits them.
		m.lab.must("tc", "-n", c.ns, "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", "40mbit", "burst", "16kb", "latency", "2ms")
		t.Cleanup(func() { _ = sh("tc", "-n", c.ns, "qdisc", "del", "dev", "eth0", "root") })
		const size = 16 << 20
		tag, mbps := demoSend(t, c, nsUpstream, size, 60*time.Second)
		drops := qdiscDrops(t, c)
		if drops == 0 {
			t.Fatal("the tbf qdisc dropped no packet: the case did not test loss")
		}
		t.Logf("%d MiB c -> %s intact through a 40 Mbit/s bucket that dropped %d packets, at %.2f MB/s", size>>20, tag, drops, mbps)
	})
	t.Run("netem delay 20ms loss 1.5%", func(t *testing.T) {
		if why := m.lab.netemMissing(); why != "" {
			t.Skip("skipped: " + why)
		}
		for _, h := range []*nsHost{a, c} {
			m.lab.must("tc", "-n", h.ns, "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "20ms", "loss", "1.5%")
			t.Cleanup(func() { _ = sh("tc", "-n", h.ns, "qdisc", "del", "dev", "eth0", "root") })
		}
		const size = 4 << 20
		tag, mbps := demoSend(t, c, nsUpstream, size, 90*time.Second)
		t.Logf("%d MiB c -> %s intact through 20ms delay and 1.5%% loss each way at %.2f MB/s", size>>20, tag, mbps)
	})
}

// qdiscDrops is the "dropped" count of the root qdisc on h's eth0.
func qdiscDrops(t *testing.T, h *nsHost) int {
	t.Helper()
	out, err := exec.Command("tc", "-n", h.ns, "-s", "qdisc", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("tc -s qdisc show: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`dropped (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no drop count in %q", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestNetnsKillMidTransfer: b's agent is killed with SIGKILL while c's
// bytes are on their way to b's (slow) backend: the application on c sees
// its connection reset (never a clean EOF), and new connections go to a
// without a failure.
func TestNetnsKillMidTransfer(t *testing.T) {
	m := newNetnsMesh(t, "a", "b", "c")
	a, b, c := m.lab.hosts["a"], m.lab.hosts["b"], m.lab.hosts["c"]
	m.payments(t, a, nil)
	var bGot atomic.Int64
	pb := m.paymentsAt(t, b, a, b.slowBackend(t, &bGot))
	m.frontend(t, c, a)
	waitPayers(t, c, 15*time.Second, "a", "b")

	// A connection served by b (the tag comes first).
	var conn net.Conn
	for i := 0; conn == nil; i++ {
		if i == 40 {
			t.Fatal("no connection reached b in 40 tries")
		}
		cn, err := c.dial(nsUpstream, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = cn.SetDeadline(time.Now().Add(20 * time.Second))
		tag := make([]byte, 2)
		if _, err := io.ReadFull(cn, tag); err != nil {
			t.Fatalf("reading the tag: %v", err)
		}
		if string(tag) == "b\n" {
			conn = cn
		} else {
			cn.Close()
		}
	}
	defer conn.Close()

	// The application writes total bytes without waiting: they fit in
	// the pipeline (yamux window and socket buffers), so its writes
	// return while b's slow backend is still receiving them. The kill
	// comes mid-transfer, and only a read is in progress on the socket:
	// Linux reports a reset once, to whichever call comes first, and a
	// concurrent write could take it, leaving the read a plain EOF.
	const total = 2 << 20
	rng := rand.NewChaCha8([32]byte{3})
	buf := make([]byte, total)
	_, _ = rng.Read(buf)
	if _, err := conn.Write(buf); err != nil {
		t.Fatalf("write before the kill: %v", err)
	}
	eventually(t, 10*time.Second, "b's backend receiving", func() bool { return bGot.Load() >= 256<<10 })
	if err := pb.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed, atKill := time.Now(), bGot.Load()
	if atKill >= total {
		t.Fatalf("b's backend had all %d bytes before the kill: not mid-transfer", atKill)
	}
	_, err := conn.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after SIGKILL of b's agent the application read %v, want a connection reset", err)
	}
	took := time.Since(killed)
	_, werr := conn.Write([]byte("more"))
	t.Logf("killed b's agent when its backend had %d of %d bytes; the application on c saw the reset %v later (a write after it: %v)",
		atKill, total, took, werr)

	for i := range 20 {
		if tag, err := c.ask(nsUpstream, "after kill", 10*time.Second); err != nil || tag != "a" {
			t.Fatalf("connection %d after the kill: %q %v", i, tag, err)
		}
	}
	eventually(t, 60*time.Second, "b declared dead by c", func() bool { return c.memberState("b") == discovery.StateDead })
	t.Logf("b declared dead by c %v after the kill", time.Since(killed))
}
