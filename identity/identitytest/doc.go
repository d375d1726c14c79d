// Package identitytest is an in-memory test CA for the tests of every
// package: ECDSA P-256 roots and intermediates, X509-SVID leaves with options
// that break each SVID rule or set validity, CRLs, and helpers that write
// them to files. It never touches the network. Not for production use.
//
// It owns only test fixtures; production certificates come from package
// identity/ca, and checks live in package identity.
package identitytest
