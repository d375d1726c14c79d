package tunnel

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Copy buffers. Each direction reads into a small per-stream buffer while
// the stream is idle and takes a pooled large buffer only while data is
// moving (a read that filled the small buffer), giving it back once a read
// returns less than smallBuf. An idle stream holds 2 x smallBuf, not
// 2 x bigBuf.
const (
	smallBuf = 1 << 10
	// bigBuf is the largest yamux frame we write. Every frame costs two
	// goroutine hand-offs on each side (yamux's send and receive loops), so
	// bulk wants large frames: 256 KiB frames took one stream from 0.71x to
	// 1.03x stunnel's throughput, and CPU per GB from 1.38x to 0.97x
	// (make bench). A larger frame gained little and holds the session's
	// send loop longer, delaying other streams' frames behind it (about
	// 0.5 ms at 500 MB/s for this size). A full buffer is exactly 16 TLS
	// records; the header goes in its own small record (coalesceConn).
	bigBuf = 256 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bigBuf); return &b }}

// Which side of the splice a copy error came from.
var (
	errLocalSide  = errors.New("local side")
	errTunnelSide = errors.New("tunnel side")
)

// copyHalf copies src to dst until src ends. count is called after each
// read with the number of bytes read. It returns nil when src ended cleanly
// (EOF), errLocalSide or errTunnelSide naming the failed side otherwise.
// srcIsTunnel says which of src/dst is the yamux stream.
func copyHalf(dst io.Writer, src io.Reader, srcIsTunnel bool, count func(int)) error {
	srcErr, dstErr := errLocalSide, errTunnelSide
	if srcIsTunnel {
		srcErr, dstErr = errTunnelSide, errLocalSide
	}
	small := make([]byte, smallBuf)
	var big *[]byte
	defer func() {
		if big != nil {
			bufPool.Put(big)
		}
	}()
	for {
		buf := small
		if big != nil {
			buf = *big
		}
		n, err := src.Read(buf)
		if n > 0 {
			count(n)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return dstErr
			}
		}
		switch {
		case big == nil && n == len(buf):
			big = bufPool.Get().(*[]byte)
		case big != nil && n < smallBuf:
			// Trickling again: a small buffer does as well.
			bufPool.Put(big)
			big = nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return srcErr
		}
	}
}

// splice moves bytes between ls.local and ls.stream until both directions
// end, and returns how the stream ended (an End constant).
//
// Half-close: local EOF -> stream.Close (a yamux half-close) and the other
// direction keeps flowing. Stream EOF -> CloseWrite on the local conn,
// unless the session is dead: then the local conn is reset so that the
// application never mistakes a cut for a clean end. A failure of the local
// conn (e.g. the app reset it) is sent to the peer as a RESET record
// (endLocal); a failure of the tunnel side resets the local conn
// (endRemote). splice closes ls.local and ls.stream before it returns.
func (t *Tunnel) splice(ls *liveStream) string {
	end := func(err error) {
		switch {
		case errors.Is(err, errLocalSide):
			ls.endLocal()
		case err != nil:
			ls.endRemote()
		}
	}
	up := make(chan error, 1)
	countOut := t.metrics.StreamBytes(DirOutbound, ls.source, ls.target)
	countIn := t.metrics.StreamBytes(DirInbound, ls.source, ls.target)
	go func() {
		err := copyHalf(ls.stream, ls.local, false, func(n int) {
			ls.bytesOut.Add(int64(n))
			countOut(n)
		})
		if err == nil {
			ls.stream.Close() // half-close: FIN, reads continue
		}
		end(err)
		up <- err
	}()
	down := copyHalf(ls.local, ls.stream, true, func(n int) {
		ls.bytesIn.Add(int64(n))
		countIn(n)
	})
	if down == nil && ls.sess.ym.IsClosed() {
		down = errTunnelSide // yamux reports a dead session as EOF
	}
	if down == nil {
		closeWrite(ls.local)
	}
	end(down)
	upErr := <-up
	if ls.drain.Load() {
		// We sent RESET: wait (bounded by the read deadline) for the
		// peer's FIN so that our FIN cannot overtake the RESET.
		io.Copy(io.Discard, ls.stream)
	}
	ls.local.Close()
	ls.stream.Close()
	if why := ls.cutReason(); why != "" {
		return why
	}
	if down == nil && upErr == nil {
		return EndClosed
	}
	if why := ls.sess.closeReason(); why != "" {
		return why
	}
	return EndReset
}

// resetConn closes c so that its peer sees a reset (RST), not a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// closeWrite half-closes c's write side (FIN), or closes c when it cannot.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
