// Package config owns the agent's HCL config file (DESIGN §5): its schema
// (the file structs in hclfile.go are the user API), its defaults, and its
// turning into the validated runtime value Config that the agent codes
// against. Load reports every problem of a file at once, each as
// "file:line:col: one sentence naming the key, what is wrong and what is
// expected"; Print writes a Config back as canonical HCL
// (`ztunnel validate --print`).
//
// It does not own what the files named in the config contain: whether a
// certificate parses or matches its key is checked by package identity, the
// policy file by package policy, the gossip key by package discovery, all
// when the agent starts. Load only checks that those files exist and are
// readable, and warns when a secret file (private key, gossip key, enroll
// token) is readable by group or others.
//
// # Schema extensions to DESIGN §5
//
//   - tunnel.max_handshakes (default 256), tunnel.streams_per_session (512),
//     tunnel.sessions_per_peer (8), tunnel.conns_per_upstream (4096): whole
//     numbers from 1 to MaxLimit; zero never means "unlimited".
//   - tunnel.max_streams (4096): streams open at once across all sessions,
//     both directions; tunnel.stream_window (1048576 bytes): the largest
//     receive window of one stream, 256 KiB to 64 MiB. Together they bound
//     the memory held in stream buffers: max_streams x stream_window.
//   - tunnel.max_handshakes_per_ip (max_handshakes/4, at least 1): inbound
//     handshakes in progress from one source IP, so that one host's silent
//     connections cannot take every slot (raise it for many peers behind
//     one NAT address); tunnel.pending_streams_per_peer (min(2 x
//     streams_per_session, max_streams/4)): one peer's inbound streams that
//     have not sent their header yet, so that one identity cannot take the
//     pending bound (max_streams) that all peers share.
//   - tunnel.dial_timeout ("5s"): TCP dial plus TLS handshake to a peer;
//     tunnel.backend_dial_timeout ("5s"): dial of a local backend.
//   - admin.pprof (false): serve /debug/pprof/ on the admin listener.
//   - admin.metrics_listen (none): host:port, any address, of a second
//     listener serving only /metrics, /healthz and /readyz, so that a
//     Prometheus on another host can scrape the agent while the API that
//     can reload it stays on loopback.
//   - max_procs (0): how many CPUs the agent runs Go code on at once
//     (GOMAXPROCS); 0 means half of the CPUs the process may use (Go's
//     cgroup-aware count), at least one. A GOMAXPROCS environment variable
//     wins over it.
//   - A workload may have several upstream "name" blocks and several expose
//     blocks.
//
// # Rules
//
//   - Only HCL native syntax. Unknown keys and blocks are errors; values
//     must be literals (no variables, functions or "${...}" interpolation),
//     which also keeps parsing cheap on hostile input. null means unset.
//   - Relative paths resolve against the config file's folder.
//   - Durations use Go syntax ("10s", "1m30s") and must be > 0.
//   - Addresses are host:port with an explicit host. Listen addresses
//     (tunnel, gossip, upstream) may use port 0 (any free port); addresses
//     the agent dials (peer, join, backend, enroll server) need 1..65535.
//     Advertise addresses need a specific IP. A non-zero listen address may
//     be used by one listener only.
//   - admin.listen is host:port on a loopback address ("localhost", 127.x,
//     [::1]) or an absolute unix socket path: the admin API has no
//     authentication, so other addresses are refused.
//   - IDs (workload id, upstream target, peer workloads) are SPIFFE IDs with
//     a non-root path in trust.trust_domain. Workload names and IDs are
//     unique; upstream names are unique per workload; expose ports are
//     unique per workload. Block names are 1..63 letters, digits, '.', '_'
//     or '-'.
//   - Pins are "sha256/" and the standard base64 of 32 bytes.
//   - A workload has cert and key, or an enroll block, never both.
//   - A peer block lists at least one workload ID.
//
// # Defaults
//
// node_name is os.Hostname(); data_dir "/var/lib/ztunnel"; log_level
// "info"; log_format "text"; shutdown_timeout "30s"; trust.revocation
// "fail_closed"; tunnel.listen "0.0.0.0:15008"; gossip.listen
// "0.0.0.0:7946"; admin.listen "127.0.0.1:15000". tunnel.advertise and
// gossip.advertise default to the listen address when its host is a
// specific IP, else to the first non-loopback, non-link-local IPv4 address
// of the host's interfaces, else to 127.0.0.1, always with the listen port;
// a guessed address is noted in Config.Warnings. With listen port 0 the
// derived advertise port is 0 too: the agent advertises the port it bound.
package config
