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
// Resets: yamux v0.1.2 cannot reset a single stream (Stream.Close is a
// half-close, and a RST is only sent by its internal close timeout). Each
// session therefore carries a control stream (wire.go) on which an agent
// announces that it reset its side of a stream; a local application's
// reset, a policy or revocation cut, and a dead session all reach the
// application on the other side as a reset, while a FIN always means a
// clean end of writes.
package tunnel
