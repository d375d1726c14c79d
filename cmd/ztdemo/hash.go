package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// hashServe is the `hash` backend: name and a newline first, then the
// SHA-256 in hex of everything read until EOF.
func hashServe(listen, name string, stderr io.Writer) int {
	return serve("hash", listen, stderr, func(c net.Conn) {
		if _, err := io.WriteString(c, name+"\n"); err != nil {
			return
		}
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			return
		}
		_, _ = io.WriteString(c, hex.EncodeToString(h.Sum(nil)))
	})
}

// sendBytes sends n pseudo-random bytes to addr, half-closes and prints:
//
//	sent N bytes sha256 HEX in DURATION (X MB/s)
//	answer: WHAT THE PEER SENT
//
// or the error the application saw ("connection reset ..." for a reset).
func sendBytes(addr string, n int64, timeout time.Duration, stdout io.Writer) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stdout, "connect failed: %v\n", err)
		return 1
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	start := time.Now()
	type result struct {
		sum string
		err error
	}
	done := make(chan result, 1)
	go func() {
		rng := rand.NewChaCha8([32]byte{1})
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for left := n; left > 0; {
			b := buf[:min(int64(len(buf)), left)]
			_, _ = rng.Read(b)
			h.Write(b)
			if _, err := c.Write(b); err != nil {
				done <- result{err: fmt.Errorf("write after %d bytes: %w", n-left, err)}
				return
			}
			left -= int64(len(b))
		}
		done <- result{sum: hex.EncodeToString(h.Sum(nil)), err: c.(*net.TCPConn).CloseWrite()}
	}()
	reply, rerr := io.ReadAll(bufio.NewReader(c))
	sent := <-done
	took := time.Since(start)
	switch {
	case errors.Is(rerr, syscall.ECONNRESET) || errors.Is(sent.err, syscall.ECONNRESET):
		fmt.Fprintln(stdout, "connection reset by the tunnel")
		return 1
	case sent.err != nil:
		fmt.Fprintf(stdout, "error: %v\n", sent.err)
		return 1
	case rerr != nil:
		fmt.Fprintf(stdout, "error: %v\n", rerr)
		return 1
	}
	fmt.Fprintf(stdout, "sent %d bytes sha256 %s in %v (%.1f MB/s)\n", n, sent.sum, took.Round(time.Millisecond), float64(n)/1e6/took.Seconds())
	fmt.Fprintf(stdout, "answer: %s\n", reply)
	return 0
}
