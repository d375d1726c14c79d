package tunnel

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity/identitytest"
)

// attackerIP is the source of the hostile connections: Linux routes all of
// 127/8 to lo, so a socket bound to it reaches the loopback listener from
// another address than the legitimate caller's 127.0.0.1.
const attackerIP = "127.0.0.2"

// dialFrom connects to addr from source IP src.
func dialFrom(t *testing.T, src, addr string) (*net.TCPConn, error) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: waitLong}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn), nil
}

// closedAtAccept reports whether the callee closed c at once (within
// 300ms) rather than holding it as a handshake in progress.
func closedAtAccept(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// legitHandshake runs a new TLS handshake to e's callee from 127.0.0.1 as
// frontend and carries one stream through the new session.
func legitHandshake(e *env, cfg *tls.Config, msg string) error {
	d := net.Dialer{Timeout: waitLong}
	c, err := tls.DialWithDialer(&d, "tcp", e.server.Addr().String(), cfg)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	defer c.Close()
	ym, err := yamux.Client(c, yamuxConfig(hclog.NewNullLogger(), DefaultConfig().StreamWindow))
	if err != nil {
		return err
	}
	defer ym.Close()
	st, err := ym.OpenStream()
	if err != nil {
		return err
	}
	st.SetDeadline(time.Now().Add(waitLong))
	hdr, _ := AppendHeader(nil, Header{Version: WireVersion, Port: payPort})
	if _, err := st.Write(append(hdr, msg...)); err != nil {
		return err
	}
	if r, err := ReadReply(st); err != nil || r.Code != CodeOK {
		return fmt.Errorf("reply %v, %v; want OK", r.Code, err)
	}
	buf := make([]byte, len(msg))
	if _, err := readFullErr(st, buf); err != nil || string(buf) != msg {
		return fmt.Errorf("echo %q, %v; want %q", buf, err, msg)
	}
	return nil
}

func readFullErr(st *yamux.Stream, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := st.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// frontendTLS is the client config of a new frontend session to e's callee.
func frontendTLS(t *testing.T, e *env) *tls.Config {
	t.Helper()
	store := newStore(t, e.ca, []*identitytest.CA{e.ca}, idFront)
	cfg, err := store.ClientConfig(idFront, idPay, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// legitHandshakes runs n legitimate handshakes from 127.0.0.1 and returns
// how many succeeded, reporting each failure.
func legitHandshakes(t *testing.T, e *env, n int, what string) int {
	t.Helper()
	cfg := frontendTLS(t, e)
	ok := 0
	for i := range n {
		if err := legitHandshake(e, cfg, "legit "+strconv.Itoa(i)); err != nil {
			t.Errorf("%s: legitimate handshake %d: %v", what, i, err)
			continue
		}
		ok++
	}
	t.Logf("%s: %d/%d legitimate handshakes from 127.0.0.1 succeeded", what, ok, n)
	return ok
}

// TestHandshakesPerSourceIP: one source IP holds at most a quarter of
// MaxHandshakes silent connections; one more is closed at accept (metric
// result "overloaded", a log line naming the IP) while legitimate
// handshakes from another IP succeed. Once the silent ones are shed by the
// handshake timeout, the IP's slots are free again.
func TestHandshakesPerSourceIP(t *testing.T) {
	const (
		maxHandshakes = 8
		perIP         = 2 // max(1, maxHandshakes/4)
		hsTimeout     = 2 * time.Second
		legitTries    = 10
	)
	h := newHostileEnv(t, func(c *Config) { c.MaxHandshakes, c.HandshakeTimeout = maxHandshakes, hsTimeout })
	addr := h.server.Addr().String()
	var held []*net.TCPConn
	for i := range perIP {
		c, err := dialFrom(t, attackerIP, addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", attackerIP, err)
		}
		held = append(held, c)
		if closedAtAccept(c) {
			t.Fatalf("silent connection %d of %d from %s closed at accept, want held (its IP's share is %d)", i, perIP, attackerIP, perIP)
		}
	}
	hs0, _ := h.serverMetrics.snapshot()
	extra, err := dialFrom(t, attackerIP, addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", attackerIP, err)
	}
	if !closedAtAccept(extra) {
		t.Fatalf("connection %d from %s was held, want it closed at accept (per-IP share %d)", perIP+1, attackerIP, perIP)
	}
	eventually(t, "the refusal to be counted as overloaded", func() bool {
		hs, _ := h.serverMetrics.snapshot()
		return len(hs) > len(hs0) && hs[len(hs0)] == "inbound/overloaded/"
	})
	h.waitLog(t, "too many handshakes in progress from one address", "source_ip="+attackerIP, "limit="+strconv.Itoa(perIP))

	if ok := legitHandshakes(t, h.env, legitTries, "attacker holding its share"); ok != legitTries {
		t.Fatalf("%d/%d legitimate handshakes succeeded", ok, legitTries)
	}
	for _, c := range held {
		if closedAtAccept(c) {
			t.Fatal("a silent connection was shed before the legitimate handshakes ended: the check proves nothing")
		}
	}
	// Shed by the handshake timeout, the IP's slots are free again.
	for _, c := range held {
		readErr(c)
	}
	eventually(t, "the attacker's slots to free", func() bool {
		n, _ := h.server.cfg.limits.handshakes.held(sourceIP(held[0]))
		return n == 0
	})
	c, err := dialFrom(t, attackerIP, addr)
	if err != nil {
		t.Fatal(err)
	}
	if closedAtAccept(c) {
		t.Fatalf("a connection from %s was closed at accept after its silent ones were shed", attackerIP)
	}
	h.checkUndisturbed(t, "silent connections from one IP")
}

// TestHandshakeFloodFromOneIPDoesNotBlockOthers: one IP keeps opening
// silent connections, far more than MaxHandshakes; legitimate handshakes
// from another IP all succeed during the flood.
func TestHandshakeFloodFromOneIPDoesNotBlockOthers(t *testing.T) {
	const (
		maxHandshakes = 8
		flood         = 3 * maxHandshakes
		hsTimeout     = 3 * time.Second
		legitTries    = 10
	)
	h := newHostileEnv(t, func(c *Config) { c.MaxHandshakes, c.HandshakeTimeout = maxHandshakes, hsTimeout })
	addr := h.server.Addr().String()
	// The flood goes on during the legitimate handshakes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened, refused := 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i >= flood {
				time.Sleep(20 * time.Millisecond)
			}
			c, err := dialFrom(t, attackerIP, addr)
			if err != nil {
				t.Errorf("flood dial: %v", err)
				return
			}
			wasRefused := closedAtAccept(c)
			if wasRefused {
				c.Close()
			}
			mu.Lock()
			opened++
			if wasRefused {
				refused++
			}
			mu.Unlock()
		}
	}()
	eventually(t, "the flood to pass MaxHandshakes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return opened >= flood
	})
	ok := legitHandshakes(t, h.env, legitTries, "during a flood from "+attackerIP)
	close(stop)
	wg.Wait()
	t.Logf("the flood opened %d silent connections from %s, %d closed at accept", opened, attackerIP, refused)
	if ok != legitTries {
		t.Fatalf("%d/%d legitimate handshakes succeeded during the flood", ok, legitTries)
	}
	if held := opened - refused; held != maxHandshakes/4 {
		t.Fatalf("%s held %d handshakes, want its share %d", attackerIP, held, maxHandshakes/4)
	}
	h.checkUndisturbed(t, "a flood of silent connections")
}
