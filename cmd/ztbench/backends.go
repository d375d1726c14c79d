package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
)

// backends are the in-process servers every system forwards to: an echo
// server (latency, connection rate, idle connections) and a sink that
// counts what it receives and, at EOF, answers with the count (throughput).
type backends struct {
	echo, sink net.Listener
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      map[net.Conn]struct{} // open accepted conns, closed by Close
}

func startBackends() (*backends, error) {
	b := &backends{conns: make(map[net.Conn]struct{})}
	var err error
	if b.echo, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if b.sink, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		b.echo.Close()
		return nil, err
	}
	b.serve(b.echo, echoConn)
	b.serve(b.sink, sinkConn)
	return b, nil
}

func (b *backends) EchoAddr() string { return b.echo.Addr().String() }
func (b *backends) SinkAddr() string { return b.sink.Addr().String() }

func (b *backends) serve(ln net.Listener, handle func(*net.TCPConn)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*net.TCPConn)
			tc.SetNoDelay(true)
			b.mu.Lock()
			b.conns[c] = struct{}{}
			b.mu.Unlock()
			go func() {
				handle(tc)
				tc.Close()
				b.mu.Lock()
				delete(b.conns, c)
				b.mu.Unlock()
			}()
		}
	}()
}

// Close stops both listeners and closes every open backend connection.
func (b *backends) Close() {
	b.echo.Close()
	b.sink.Close()
	b.wg.Wait()
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
}

// echoConn writes back what it reads; at EOF it half-closes.
func echoConn(c *net.TCPConn) {
	buf := make([]byte, 4<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.CloseWrite()
			}
			return
		}
	}
}

// sinkConn discards what it reads; at EOF it writes the byte count as a
// big-endian uint64, so the sender knows when everything arrived.
func sinkConn(c *net.TCPConn) {
	buf := make([]byte, 256<<10)
	var total uint64
	for {
		n, err := c.Read(buf)
		total += uint64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				var ack [8]byte
				binary.BigEndian.PutUint64(ack[:], total)
				c.Write(ack[:])
				c.CloseWrite()
			}
			return
		}
	}
}
