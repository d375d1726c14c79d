// Package tunnel is ztunnel's data plane (DESIGN §4).
//
// It owns: the upstream listeners (local TCP ports whose connections are
// carried to a remote workload), the inbound tunnel listener (TLS 1.3 +
// yamux), the outbound session pool keyed by (source, target, address), the
// per-stream header and status reply (wire.go is the spec), the splice with
// half-close and reset semantics, the limits (below), the registry of
// live streams, and the access log.
//
// It does not own: certificates and their checks (identity, reached through
// TLSProvider), policy rules (reached through Authorizer), where a workload
// lives (reached through Resolver, which discovery satisfies), metrics
// registration (the agent implements Metrics), or config files. It never
// imports discovery, config, admin or agent.
//
// Concurrency: a Tunnel's methods are safe for concurrent use. Every
// accepted connection, handshake and stream runs in its own goroutine;
// none of them outlive Close.
//
// Limits (Config; a zero value means the default, each one is checked by
// Validate). Every limit answers a refusal the peer or app can see and a
// log line naming the limit:
//
//   - HandshakeTimeout, 10s: an inbound TLS handshake, and each inbound
//     stream's header, must finish within it; silent connections and
//     silent streams are shed by it.
//   - MaxHandshakes, 256: inbound TLS handshakes in progress at once, at
//     most HandshakesPerIP of them (default a quarter, max(1,
//     MaxHandshakes/4), 64) from one source IP, so that one host's silent connections cannot stop every new
//     tunnel; one more connection is closed at accept (metric result
//     "overloaded"). Past the per-IP share the log line names the IP, at
//     most once a second with the count of the unlogged ones.
//   - StreamsPerSession, 512: streams per outbound session before the pool
//     opens another; an inbound session accepts twice as many (headers not
//     yet read included), then answers OVERLOADED.
//   - Streams awaiting their header: an inbound stream takes a MaxStreams
//     slot only once its header is read and policy allowed it (before the
//     backend dial). Until then it counts against its peer's pending quota
//     (PendingPerPeer, per SPIFFE ID over all its sessions; default
//     min(2 x StreamsPerSession, MaxStreams/4), 1024) and a pending bound shared by all peers
//     (MaxStreams, 4096). Past either, the peer's new streams are answered
//     OVERLOADED and the log names the peer and the limit, at most once a
//     second per peer. A peer that never sends headers, or that policy
//     allows nothing, thus holds at most its quota, shed every
//     HandshakeTimeout, and cannot starve other callers; it takes at least
//     four identities to fill the shared bound. A pending stream holds a
//     goroutine and at most a header's bytes (1030), not a window: more
//     bytes complete its header.
//   - SessionsPerPeer, 8: outbound sessions per (source, target, address);
//     past SessionsPerPeer x StreamsPerSession a connection fails over.
//   - ConnsPerUpstream, 4096: app connections open at once on one upstream
//     listener; one more is reset.
//   - MaxStreams, 4096, and StreamWindow, 1 MiB: the memory held in stream
//     receive buffers. A stream buffers at most StreamWindow bytes its
//     reader has not taken (yamux v0.1.2 grants the whole StreamWindow when
//     a stream opens, in its SYN or ACK), and at most MaxStreams
//     streams are open across all sessions in both directions (inbound
//     ones once their header is read and allowed, inbound control streams
//     included), so the bound is MaxStreams x StreamWindow (4 GiB by
//     default, reached only if every stream's reader stalls with a full
//     window), plus one window per outbound session for its control
//     stream, which carries a few bytes per reset. Past MaxStreams an
//     inbound stream is answered OVERLOADED after its header (logged, and
//     in the access log as refused) and an app connection is reset.
//   - Copy buffers: an idle stream holds 1 KiB per direction; a direction
//     whose reads fill that borrows a pooled 256 KiB buffer (one yamux
//     frame) until a read comes back short again. Bound: MaxStreams x 2 x
//     256 KiB (2 GiB by default, reached only if every stream moves bulk
//     data at once), plus one pooled frame-sized buffer per session while
//     its send loop writes a large frame.
//   - Idle inbound sessions: a session that carries no stream but its
//     control stream for 10 minutes (twice the 5 minutes after which a
//     caller closes its own idle sessions) is closed by the callee, so a
//     peer cannot pile up idle sessions. A caller whose stream request
//     meets a session that just died retries it on a fresh session: no
//     byte of the app is sent before the status.
//   - Refused streams: an inbound stream refused with a status (any code)
//     keeps its slots until the caller finishes it (FIN), which every
//     agent does at once, for at most 5 s (resetLinger); a caller that has
//     not by then breaks the protocol and its session is closed. Without
//     this a refused stream, half-closed, would live with its granted
//     receive window as long as the session.
//   - Accept back-off: when accept fails (EMFILE, ENFILE, ENOBUFS...) every
//     accept loop waits 5 ms, doubling to 1 s while it keeps failing, logs
//     each failure with its retry delay, and serves again at full speed once
//     an accept succeeds.
//
// Resets: yamux v0.1.2 cannot reset a single stream (Stream.Close is a
// half-close, and a RST is only sent by its internal close timeout). Each
// session therefore carries a control stream (wire.go) on which an agent
// announces that it reset its side of a stream; a local application's
// reset, a policy or revocation cut, and a dead session all reach the
// application on the other side as a reset, while a FIN always means a
// clean end of writes.
package tunnel
