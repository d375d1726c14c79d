// Package ca is the built-in file-based CA behind `ztunnel ca init|serve|token`
// and `ztunnel cert issue|revoke|inspect` (DESIGN §7): it creates an ECDSA
// P-256 root for one trust domain, issues X509-SVIDs, keeps a signed CRL and
// an audit log of issued serials, explains a certificate rule by rule, and
// runs the CA server that enrolls agents with one-time join tokens and
// renews their certificates over mutual TLS (serve*.go, token.go).
//
// A CA directory holds ca.crt, ca.key (0600), ca.crl, issued.log, and for
// the server tokens.json (token hashes only, 0600) guarded by tokens.lock.
// Every file that is replaced is written to a temporary file and renamed, so
// an agent reloading it never reads half a file.
//
// It does not own: verifying peers or loading workload certificates
// (package identity), the agent side of enrollment (package
// identity/enroll), or flag parsing (cmd/ztunnel).
package ca
