package tunnel

import (
	"errors"
	"fmt"
)

// ErrBadHeader means a stream header could not be parsed.
var ErrBadHeader = errors.New("tunnel: bad stream header")

// ErrBadStatus means a stream status reply could not be parsed.
var ErrBadStatus = errors.New("tunnel: bad stream status")

// ErrUnsupportedVersion means a header or status carries a version this
// package does not speak.
var ErrUnsupportedVersion = errors.New("tunnel: unsupported wire version")

// ErrInvalidConfig means Config.Validate found a problem.
var ErrInvalidConfig = errors.New("tunnel: invalid config")

// ErrClosed means the Tunnel was closed or is shutting down.
var ErrClosed = errors.New("tunnel: closed")

// ErrOwnCertExpired means the calling workload's own certificate has
// expired: its upstream connections are refused here, with that reason,
// until a valid certificate is loaded, instead of failing at the peer.
var ErrOwnCertExpired = errors.New("tunnel: the workload's certificate has expired")

// ErrNoEndpoint means the Resolver knows no usable address for a target.
var ErrNoEndpoint = errors.New("tunnel: no endpoint")

// ErrPoolFull means every session to an address is full and no more may be
// opened (SessionsPerPeer x StreamsPerSession streams are in use).
var ErrPoolFull = errors.New("tunnel: session pool full")

// ErrRefused means the far agent answered a stream header with a non-OK
// status; the *RefusedError carries the code and message.
var ErrRefused = errors.New("tunnel: stream refused")

// RefusedError is a non-OK status from the far agent.
type RefusedError struct {
	Code Code
	Msg  string
}

func (e *RefusedError) Error() string {
	if e.Msg == "" {
		return "tunnel: stream refused: " + e.Code.String()
	}
	return "tunnel: stream refused: " + e.Code.String() + " (" + e.Msg + ")"
}

// Is makes errors.Is(err, ErrRefused) true for every *RefusedError.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// ListenError is a listener that Start or Update could not bind.
type ListenError struct {
	// Upstream is the upstream's name, "" for the tunnel port; Source is
	// the upstream's workload.
	Upstream, Source string
	Addr             string
	Err              error
}

func (e *ListenError) Error() string {
	if e.Upstream == "" {
		return fmt.Sprintf("tunnel: tunnel port: %v", e.Err)
	}
	return fmt.Sprintf("tunnel: upstream %q of workload %s: %v", e.Upstream, e.Source, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }
