// Package admin serves the agent's loopback HTTP API (DESIGN §8): the JSON
// documents under /v1/, POST /v1/reload, /healthz, /readyz, /metrics and,
// when enabled, /debug/pprof/.
//
// It owns the HTTP surface only: what the documents contain comes from a
// Backend that the agent implements, so this package imports no other
// package of ours. It listens on a loopback TCP address or a unix socket and
// refuses any other address: the API can reload the agent and shows its
// whole topology.
package admin
