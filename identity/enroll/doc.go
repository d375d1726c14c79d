// Package enroll is the agent's side of the CA server (`ztunnel ca serve`,
// package identity/ca): for one workload it makes an ECDSA P-256 key on
// this host (the key never leaves it), enrolls once with a one-time join
// token, stores the certificate and key under data_dir (0600, replaced
// atomically), and renews them over mutual TLS at about half of their
// lifetime, with jitter, retrying with exponential back-off and keeping the
// current certificate until it expires.
//
// The files it writes are ordinary workload certificate and key files: the
// agent's identity.Store loads and hot-reloads them like any other, so
// renewal uses the certificate-rotation path and no connection fails.
//
// It does not own: loading certificates for the tunnel (package identity),
// the CA server or the token store (package identity/ca), metrics or the
// admin API (the agent reads Status), or the config file (package config).
package enroll
