// Command ztdemo is the demo's stand-in for applications: `echo` is a
// backend that answers each connection with what it received, `send` is a
// client that sends one message, half-closes, and prints the answer or the
// exact error the application saw (a reset from a denied stream, say).
//
// For integrity checks, `hash` is a backend that writes its name and a
// newline at once, reads until EOF and answers with the SHA-256 (hex) of
// everything it read; `send --bytes N` sends N pseudo-random bytes instead
// of a message and prints their SHA-256 and the throughput before the
// answer, so a caller compares the two hashes.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ztdemo echo|hash --listen ADDR [--name NAME] | ztdemo send --addr ADDR [--msg TEXT | --bytes N]")
		return 2
	}
	fs := pflag.NewFlagSet(args[0], pflag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "echo":
		listen := fs.String("listen", "127.0.0.1:28443", "address to listen on")
		name := fs.String("name", "backend", "name put before each answer")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		return echo(*listen, *name, stderr)
	case "hash":
		listen := fs.String("listen", "127.0.0.1:28443", "address to listen on")
		name := fs.String("name", "backend", "name sent first on each connection")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		return hashServe(*listen, *name, stderr)
	case "send":
		addr := fs.String("addr", "", "address to connect to")
		msg := fs.String("msg", "hello", "message to send")
		n := fs.Int64("bytes", 0, "send this many pseudo-random bytes instead of --msg")
		timeout := fs.Duration("timeout", 10*time.Second, "limit for the whole exchange")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if *n > 0 {
			return sendBytes(*addr, *n, *timeout, stdout)
		}
		return send(*addr, *msg, stdout)
	}
	fmt.Fprintf(stderr, "ztdemo: unknown command %q\n", args[0])
	return 2
}

func echo(listen, name string, stderr io.Writer) int {
	return serve("echo", listen, stderr, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		msg, _ := io.ReadAll(io.LimitReader(c, 1<<20))
		fmt.Fprintf(c, "%s received %q", name, msg)
	})
}

// serve accepts on listen until it fails and hands each connection to
// handle in its own goroutine, closing it afterwards.
func serve(cmd, listen string, stderr io.Writer, handle func(net.Conn)) int {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "ztdemo %s: %v\n", cmd, err)
		return 1
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func send(addr, msg string, stdout io.Writer) int {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if errors.Is(err, syscall.ECONNRESET) {
		// The agent refused the stream before connect() even returned.
		fmt.Fprintln(stdout, "connection reset by the tunnel (the stream was refused)")
		return 1
	}
	if err != nil {
		fmt.Fprintf(stdout, "connect failed: %v\n", err)
		return 1
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err == nil {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	reply, err := io.ReadAll(c)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		fmt.Fprintln(stdout, "connection reset by the tunnel (the stream was refused)")
		return 1
	case err != nil:
		fmt.Fprintf(stdout, "error: %v\n", err)
		return 1
	case len(reply) == 0:
		fmt.Fprintln(stdout, "connection closed with no answer")
		return 1
	}
	fmt.Fprintf(stdout, "answer: %s\n", reply)
	return 0
}
