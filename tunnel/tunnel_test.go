package tunnel

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

func TestEchoIntegrity(t *testing.T) {
	size := 64 << 20
	if testing.Short() {
		size = 4 << 20
	}
	e := newEnv(t, envOpts{backend: serve(t, echo)})
	c := dial(t, e.upstream)

	sent := sha256.New()
	got := make(chan []byte, 1)
	go func() {
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil || n != int64(size) {
			t.Errorf("read back %d bytes, err %v; want %d, nil", n, err, size)
		}
		got <- h.Sum(nil)
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 100_003)
	for left := size; left > 0; {
		n := min(left, 1+rng.IntN(len(buf)))
		for i := range n {
			buf[i] = byte(rng.Uint32())
		}
		if _, err := c.Write(buf[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		sent.Write(buf[:n])
		left -= n
	}
	c.CloseWrite()
	if sum := <-got; !bytes.Equal(sum, sent.Sum(nil)) {
		t.Fatalf("SHA-256 of echoed bytes differs from what was sent")
	}
}

func TestHalfClose(t *testing.T) {
	backend := serve(t, func(c *net.TCPConn) {
		req, err := io.ReadAll(c) // until the caller's FIN
		if err != nil {
			return
		}
		c.Write(append([]byte("reply to "), req...))
		c.CloseWrite()
	})
	e := newEnv(t, envOpts{backend: backend})
	c := dial(t, e.upstream)
	if _, err := c.Write([]byte("question")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if string(got) != "reply to question" {
		t.Fatalf("reply = %q, want %q", got, "reply to question")
	}
}
