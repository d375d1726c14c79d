package tunnel

import (
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"
)

// yamux is configured here and nowhere else; both ends use the same values.
const (
	// yamuxAcceptBacklog bounds streams waiting for AcceptStream on the
	// server and in-flight SYNs on the client. It must be equal on both ends:
	// a client allowed more SYNs than the server's backlog gets its extra
	// streams reset. Our accept loop hands each stream to a goroutine at
	// once, so the backlog only absorbs bursts.
	yamuxAcceptBacklog = 256

	// yamuxKeepAliveInterval: a ping every 15s; a ping unanswered within
	// yamuxWriteTimeout closes the session, so a silently dead peer is
	// noticed within about 25s and its streams are reset.
	yamuxKeepAliveInterval = 15 * time.Second

	// yamuxWriteTimeout is yamux's safety valve on writes to the TLS
	// connection (and its ping timeout): a peer that stops reading for this
	// long is considered dead.
	yamuxWriteTimeout = 10 * time.Second

	// The maximum receive window per stream is Config.StreamWindow
	// (default 1 MiB, within minStreamWindow..maxStreamWindow). yamux's
	// 256 KiB default caps one stream at window/RTT. Memory bound: a stream
	// whose reader stalls buffers at most one window (v0.1.2 grants the
	// whole window when the stream opens, not gradually), and
	// Config.MaxStreams caps the streams, so stream buffers hold at most
	// MaxStreams x StreamWindow.

	// yamuxStreamOpenTimeout: a stream whose SYN is not acknowledged within
	// 30s closes the session (yamux's rule); our server acknowledges on
	// accept, which never waits on anything slow.
	yamuxStreamOpenTimeout = 30 * time.Second

	// yamuxStreamCloseTimeout is disabled (0). yamux starts this timer when
	// one side half-closes and resets the stream when it fires, even while
	// data still flows the other way: a caller that shuts its writes and
	// then downloads for longer than the timeout would be cut. A half-closed
	// stream lives as long as the other direction, as TCP does. Streams
	// we abort are freed by the peer's FIN, which every ztunnel agent sends
	// at once on a RESET record or a FIN (splice, control.go); a session
	// that dies frees all of its streams.
	yamuxStreamCloseTimeout = 0

	minStreamWindow = 256 << 10 // yamux refuses a smaller MaxStreamWindowSize
	maxStreamWindow = 64 << 20
)

// yamuxConfig returns the yamux config for both ends, logging through log
// (yamux's "[ERR]"/"[WARN]" prefixes become hclog levels). window is the
// largest receive window per stream; it need not match the peer's.
func yamuxConfig(log hclog.Logger, window int) *yamux.Config {
	return &yamux.Config{
		AcceptBacklog:          yamuxAcceptBacklog,
		EnableKeepAlive:        true,
		KeepAliveInterval:      yamuxKeepAliveInterval,
		ConnectionWriteTimeout: yamuxWriteTimeout,
		MaxStreamWindowSize:    uint32(window),
		StreamOpenTimeout:      yamuxStreamOpenTimeout,
		StreamCloseTimeout:     yamuxStreamCloseTimeout,
		Logger:                 log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
}
