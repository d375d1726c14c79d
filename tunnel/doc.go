// Package tunnel is ztunnel's data plane (DESIGN §4).
//
// It owns: the upstream listeners (local TCP ports whose connections are
// carried to a remote workload), the inbound tunnel listener (TLS 1.3 +
// yamux), the outbound session pool keyed by (source, target, address), the
// per-stream header and status reply (wire.go is the spec), the splice with
// half-close and reset semantics, the limits (concurrent handshakes, streams
// per session, sessions per peer, connections per upstream), the registry of
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
// Known limitation: yamux v0.1.2 has no way to reset a single stream
// (Stream.Close is a half-close and a RST is only sent by its internal close
// timeout). A local application that resets its connection is therefore
// seen by the far side as a clean end of its writes (EOF), and a stream cut
// by Recheck or Shutdown reaches the far agent as a FIN. A dead session,
// by contrast, always reaches both applications as a reset.
package tunnel
