// Package ca is the built-in file-based CA behind `ztunnel ca init` and
// `ztunnel cert issue|revoke|inspect` (DESIGN §7): it creates an ECDSA P-256
// root for one trust domain, issues X509-SVIDs, keeps a signed CRL and an
// audit log of issued serials, and explains a certificate rule by rule.
//
// A CA directory holds ca.crt, ca.key (0600), ca.crl and issued.log. Every
// file that is replaced is written to a temporary file and renamed, so an
// agent reloading it never reads half a file.
//
// It does not own: verifying peers or loading workload certificates
// (package identity), the enrollment server (`ztunnel ca serve`), or flag
// parsing (cmd/ztunnel).
package ca
