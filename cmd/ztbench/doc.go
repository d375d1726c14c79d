// Command ztbench measures ztunnel side by side with direct TCP and with
// stunnel (issue 8) on loopback, and prints a table of medians with
// ztunnel's ratios to stunnel; it also writes the figures as JSON.
//
// It owns the benchmark method only: it starts the built ztunnel binary
// (two agents) and stunnel (a client and a server) as child processes with
// configs and certificates it generates in a temporary folder, and serves
// the backends in-process. It does not change or import the data plane.
//
// # Paths
//
//   - direct: app -> backend.
//   - ztunnel: app -> agent A upstream listener -> mutual-TLS + yamux tunnel
//     -> agent B -> backend. Both agents run with their defaults except
//     pprof on the admin listener.
//   - stunnel: app -> client stunnel -> TLS 1.3 with a client certificate
//     (verifyChain, requireCert, CRL) -> server stunnel -> backend, logging
//     only warnings. When stunnel is missing and ztbench runs as root it
//     installs stunnel4 with apt-get (--install-stunnel=false: do not);
//     otherwise it says so and skips the path.
//
// Both TLS paths use the same CA and leaf certificates (ECDSA, made with
// `ztunnel ca init` and `ztunnel cert issue`). Every socket has TCP_NODELAY.
//
// # Method
//
// Each round runs every phase on every path, the paths taking turns (the
// order rotates each round so none always goes first); the table reports
// the median of the rounds.
//
//   - Throughput (1 and --streams streams): each stream writes 256 KiB
//     chunks to the sink for --bulk-time, half-closes and waits for the
//     sink's byte count; MB/s (10^6 bytes) is all bytes over the time from
//     the first write to the last count, so every byte reached the backend.
//   - Echo latency: 64-byte round trips on one connection for
//     --latency-time after 200 warm-up round trips; p50 and p99 by nearest
//     rank.
//   - Connection rate: --clients loops of connect, one 64-byte round trip,
//     close, for --rate-time; completed connections per second.
//   - RSS per idle connection: the path's processes are restarted (a Go
//     runtime returns freed memory to the OS slowly, so RSS after the bulk
//     phases says little), then --idle-conns connections are opened, each
//     with one round trip so that the whole path exists, and held; the
//     growth of the summed VmRSS of the path's processes (both agents, or
//     both stunnels) divided by the count is the figure.
//   - CPU cost: around the throughput, latency and connection-rate runs
//     the path's processes' CPU time (utime + stime from /proc/PID/stat) is
//     read, giving CPU seconds per GB, µs per round trip and µs per
//     connection. Other work on the machine disturbs these far less than
//     the rates, so they are the figures to compare builds by.
//
// Each figure is printed with the ratio of every ztunnel path to stunnel,
// and the goals of issue 8 are checked against the medians. The load
// average at the start and end is printed too: on a busy machine single
// rounds stray, which is why the default is five rounds.
//
// --profile-dir then repeats each timed phase on ztunnel alone while both
// agents take a CPU profile, saves heap and goroutine profiles while the
// idle connections are held, and the agents' cumulative allocation
// profiles; read them with `go tool pprof -top FILE`.
//
// --compare 'NAME=BINARY [KEY=VALUE ...]' adds another ztunnel build (and
// agent environment, e.g. GOMAXPROCS=2) as one more path of the same run,
// so that a data-plane change is judged against the same machine noise.
//
// No test asserts a speed; ztbench is not part of `make test`.
package main
