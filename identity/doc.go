// Package identity owns workload identity for ztunnel: SPIFFE ID syntax,
// the static X509-SVID rules, the trust bundle, CRLs, SPKI pins, the
// certificate sources of local workloads with hot reload, and the TLS
// configurations of both ends of a tunnel (DESIGN §3, §4).
//
// Every rejection carries a Reason (reason.go) so that callers can label
// metrics with errors.As(err, *RejectError) or ReasonOf(err).
//
// It does not own: policy decisions (package policy), the tunnel data plane
// or handshake timeouts (package tunnel), watching files for changes (the
// agent calls Store.Reload), or issuing certificates (package identity/ca).
// It imports no other package of this module.
package identity
