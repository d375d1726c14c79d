package tunnel

import (
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// discardAck reads everything, then writes one byte so the writer knows
// all of it arrived.
func discardAck(c *net.TCPConn) {
	io.Copy(io.Discard, c)
	c.Write([]byte{1})
}

func benchThroughput(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		b.Fatalf("ack: %v", err)
	}
}

// BenchmarkThroughput sends 64 KiB writes from an app through two Tunnels
// (upstream -> TLS + yamux -> backend); compare with BenchmarkThroughputDirect.
func BenchmarkThroughput(b *testing.B) {
	e := newEnv(b, envOpts{backend: serve(b, discardAck), clientConfig: quiet, serverConfig: quiet})
	benchThroughput(b, e.upstream)
}

func BenchmarkThroughputDirect(b *testing.B) {
	benchThroughput(b, serve(b, discardAck))
}

func benchRoundTrip(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRoundTrip is a 64-byte ping-pong through two Tunnels.
func BenchmarkRoundTrip(b *testing.B) {
	e := newEnv(b, envOpts{backend: serve(b, echo), clientConfig: quiet, serverConfig: quiet})
	benchRoundTrip(b, e.upstream)
}

func BenchmarkRoundTripDirect(b *testing.B) {
	benchRoundTrip(b, serve(b, echo))
}

func quiet(c *Config) { c.Logger = nil }
