package identity

import (
	"errors"
	"fmt"
)

// ErrUnknownWorkload is returned by ClientConfig when the source is not a
// workload of this store.
var ErrUnknownWorkload = errors.New("identity: unknown local workload")

// ErrNoPeerCertificate is returned by PeerID for a connection state without
// a finished handshake or without a peer certificate.
var ErrNoPeerCertificate = errors.New("identity: connection has no verified peer certificate")

// ErrBadConfig is wrapped by StoreConfig.Validate errors.
var ErrBadConfig = errors.New("identity: bad store config")

// reject builds a *RejectError with a formatted detail.
func reject(r Reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// quote quotes s for an error message, shortened so that a hostile or huge
// input cannot flood a log line.
func quote(s string) string {
	const max = 96
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// ErrOwnCertRevoked means a local workload's certificate is revoked by the
// CRL in force, so it is not presented.
var ErrOwnCertRevoked = errors.New("identity: the workload's own certificate is revoked")
