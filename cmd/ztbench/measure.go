package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ioTimeout bounds every wait on a proxied connection so that a stuck
// system fails the run instead of hanging it.
const ioTimeout = 30 * time.Second

func dial(addr string) (*net.TCPConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(true)
	return tc, nil
}

// throughput sends from streams connections to the sink at addr for d
// (all streams in parallel), then half-closes each and waits for the sink's
// byte count. It returns MB/s (10^6 bytes) from the first write to the
// last count (every byte has reached the backend by then) and the bytes.
func throughput(addr string, streams int, d time.Duration) (float64, int64, error) {
	conns := make([]*net.TCPConn, 0, streams)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range streams {
		c, err := dial(addr)
		if err != nil {
			return 0, 0, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, c)
	}
	var (
		wg       sync.WaitGroup
		total    atomic.Int64
		mu       sync.Mutex
		firstErr error
		lastEnd  time.Time
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range conns {
		wg.Go(func() {
			n, err := sendAll(c, deadline)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp(firstErr, err)
				return
			}
			total.Add(n)
			if now := time.Now(); now.After(lastEnd) {
				lastEnd = now
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return float64(total.Load()) / lastEnd.Sub(start).Seconds() / 1e6, total.Load(), nil
}

func cmp(old, err error) error {
	if old != nil {
		return old
	}
	return err
}

// sendAll writes 256 KiB chunks to c until deadline, half-closes, reads the
// sink's count and checks that every byte arrived.
func sendAll(c *net.TCPConn, deadline time.Time) (int64, error) {
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i)
	}
	c.SetDeadline(deadline.Add(ioTimeout))
	var sent int64
	for time.Now().Before(deadline) {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			return 0, fmt.Errorf("write: %w", err)
		}
	}
	if err := c.CloseWrite(); err != nil {
		return 0, fmt.Errorf("half-close: %w", err)
	}
	var ack [8]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return 0, fmt.Errorf("read byte count: %w", err)
	}
	if got := int64(binary.BigEndian.Uint64(ack[:])); got != sent {
		return 0, fmt.Errorf("sink received %d bytes of %d", got, sent)
	}
	return sent, nil
}

// warmupRoundTrips are done before latency takes samples.
const warmupRoundTrips = 200

// latency does 64-byte echo round trips on one connection for d (after a
// warm-up) and returns every round trip's duration, sorted.
func latency(addr string, d time.Duration) ([]time.Duration, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(d + ioTimeout))
	msg := make([]byte, 64)
	rt := func() error {
		if _, err := c.Write(msg); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if _, err := io.ReadFull(c, msg); err != nil {
			return fmt.Errorf("read echo: %w", err)
		}
		return nil
	}
	for range warmupRoundTrips {
		if err := rt(); err != nil {
			return nil, err
		}
	}
	samples := make([]time.Duration, 0, 1<<14)
	for end := time.Now().Add(d); time.Now().Before(end); {
		t0 := time.Now()
		if err := rt(); err != nil {
			return nil, err
		}
		samples = append(samples, time.Since(t0))
	}
	slices.Sort(samples)
	return samples, nil
}

// roundTrip dials addr and does one 64-byte echo round trip; the caller
// owns (and closes) the returned connection.
func roundTrip(addr string) (*net.TCPConn, error) {
	c, err := dial(addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	msg := make([]byte, 64)
	if _, err := c.Write(msg); err != nil {
		c.Close()
		return nil, fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(c, msg); err != nil {
		c.Close()
		return nil, fmt.Errorf("read echo: %w", err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// connRate runs clients loops of (connect, one 64-byte round trip, close)
// for d and returns completed connections per second, their number, and
// the number of failed attempts with the first failure.
func connRate(addr string, clients int, d time.Duration) (float64, int64, int64, error) {
	var (
		wg        sync.WaitGroup
		ok, fails atomic.Int64
		mu        sync.Mutex
		firstErr  error
	)
	start := time.Now()
	end := start.Add(d)
	for range clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				c, err := roundTrip(addr)
				if err != nil {
					fails.Add(1)
					mu.Lock()
					firstErr = cmp(firstErr, err)
					mu.Unlock()
					continue
				}
				c.Close()
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds(), ok.Load(), fails.Load(), firstErr
}

// idleConns opens n connections to the echo server at addr (each with one
// round trip, so the whole proxied path is set up), waits settle, and
// returns the growth of pids' summed RSS divided by n, in KiB. held, when
// not nil, is called while the connections are open. The connections are
// closed before it returns.
func idleConns(addr string, n int, pids []int, settle time.Duration, held func()) (float64, error) {
	before, err := rssSum(pids)
	if err != nil {
		return 0, err
	}
	conns := make([]*net.TCPConn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		mu   sync.Mutex
		fail error
	)
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c, err := roundTrip(addr)
				if err != nil {
					mu.Lock()
					fail = cmp(fail, fmt.Errorf("connection %d: %w", i, err))
					mu.Unlock()
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	if fail != nil {
		return 0, fail
	}
	time.Sleep(settle)
	after, err := rssSum(pids)
	if err != nil {
		return 0, err
	}
	if held != nil {
		held()
	}
	return float64(after-before) / float64(n), nil
}

// rssSum returns the summed VmRSS of pids in KiB.
func rssSum(pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		kib, err := rssKiB(pid)
		if err != nil {
			return 0, err
		}
		sum += kib
	}
	return sum, nil
}

var errNoRSS = errors.New("no VmRSS line")

// rssKiB reads VmRSS from /proc/PID/status.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

// parseVmRSS finds "VmRSS:   1234 kB" in a /proc/PID/status text.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", sc.Text())
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errNoRSS
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux ABI Go supports).
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user + system, all threads) pids have used
// so far.
func cpuTime(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, err
		}
		t, err := parseStatCPU(string(b))
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		sum += t
	}
	return sum, nil
}

// parseStatCPU returns utime + stime from a /proc/PID/stat line. The
// command name (field 2) may hold spaces, so fields are counted after its
// closing parenthesis: utime and stime are fields 14 and 15.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat line")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("malformed stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed stat line")
	}
	return time.Duration(utime+stime) * clockTick, nil
}
