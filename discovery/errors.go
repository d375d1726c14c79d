package discovery

import "errors"

var (
	// ErrInvalidConfig wraps every problem found by Config.Validate.
	ErrInvalidConfig = errors.New("discovery: invalid config")

	// ErrNotStarted is returned by operations that need a running Gossip
	// before Start has succeeded.
	ErrNotStarted = errors.New("discovery: gossip not started")

	// ErrAlreadyStarted is returned by a second call to Start.
	ErrAlreadyStarted = errors.New("discovery: gossip already started")

	// ErrShutdown is returned by operations on a Gossip that was shut down.
	ErrShutdown = errors.New("discovery: gossip is shut down")

	// ErrNoKeys means no gossip encryption key was given; gossip never runs
	// unencrypted.
	ErrNoKeys = errors.New("discovery: no gossip key")

	// ErrInvalidKey means a gossip key is not base64 of 16, 24 or 32 bytes.
	ErrInvalidKey = errors.New("discovery: invalid gossip key")

	// ErrUnknownVersion means a gossip message or node metadata carries a
	// format version this build does not understand; it is ignored.
	ErrUnknownVersion = errors.New("discovery: unknown wire format version")

	// ErrMalformed means a gossip message or node metadata could not be
	// decoded (truncated, trailing bytes, a value out of range).
	ErrMalformed = errors.New("discovery: malformed message")

	// ErrTooLarge means an encoded value exceeds a wire limit.
	ErrTooLarge = errors.New("discovery: message too large")
)
