package policy

import (
	"errors"
	"strings"
)

// ErrInvalidPolicy is matched (errors.Is) by every *LoadError: the policy
// file does not parse, does not validate, or its tests fail.
var ErrInvalidPolicy = errors.New("policy: invalid policy")

// ErrTestFailed is matched by a *LoadError whose file is valid but one of
// whose test blocks fails; Load refuses such a policy.
var ErrTestFailed = errors.New("policy: policy test failed")

// ErrInvalidID is wrapped by ValidateID for a string that is not a SPIFFE
// workload ID.
var ErrInvalidID = errors.New("policy: invalid SPIFFE ID")

// LoadError is the error of Parse and Load when a policy file is refused.
// Problems holds every problem found, sorted by position, each one
// sentence of the form "file:line:col: message". Error returns all of
// them, one per line.
type LoadError struct {
	Problems []string
	// TestsFailed is true when the file is valid but a test block fails.
	TestsFailed bool
}

func (e *LoadError) Error() string { return strings.Join(e.Problems, "\n") }

// Is lets errors.Is match ErrInvalidPolicy, and ErrTestFailed when a test
// failed.
func (e *LoadError) Is(target error) bool {
	return target == ErrInvalidPolicy || (e.TestsFailed && target == ErrTestFailed)
}
