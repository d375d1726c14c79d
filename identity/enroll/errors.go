package enroll

import (
	"errors"
	"fmt"
)

var (
	// ErrBadConfig is wrapped by Config.Validate errors.
	ErrBadConfig = errors.New("enroll: bad config")
	// ErrNoToken is returned by Ensure when no valid certificate is stored
	// and the token file cannot be read.
	ErrNoToken = errors.New("enroll: no join token")
	// ErrBadResponse is a CA server answer that is not what was asked for
	// (wrong ID, another key, not an X509-SVID of the trust bundle).
	ErrBadResponse = errors.New("enroll: bad response from the CA server")
)

// ServerError is a refusal by the CA server: its HTTP status, its stable
// code (ca.Code*) and its one-sentence message.
type ServerError struct {
	Op      string // "enrollment" or "renewal"
	Server  string
	Status  int
	Code    string
	Message string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("enroll: the CA server at %s refused the %s: %s", e.Server, e.Op, e.Message)
}
