// Package agent wires the daemon together: it turns a validated
// config.Config into running components (identity store, policy, tunnel,
// discovery, admin API), starts them in the order of DESIGN §9, reloads them
// (SIGHUP, POST /v1/reload, files changing on disk) by building new state and
// swapping it in only when it is valid, and drains them on shutdown.
//
// It is the only package that knows every other one. It owns no protocol and
// no policy logic of its own: signal handling and exit codes belong to
// cmd/ztunnel, which calls Start, Reload and Shutdown.
package agent
