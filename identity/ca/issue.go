package ca

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// ErrOutputExists is matched (errors.Is) by the *OutputExistsError Issue
// returns when PREFIX.crt or PREFIX.key is already there.
var ErrOutputExists = errors.New("ca: the output file already exists")

// OutputExistsError names the existing file that Issue refused to replace.
type OutputExistsError struct {
	Path string // PREFIX.crt or PREFIX.key, as given
}

func (e *OutputExistsError) Error() string {
	return fmt.Sprintf("ca: %q already exists; refusing to overwrite it", e.Path)
}

// Is makes errors.Is(err, ErrOutputExists) true.
func (e *OutputExistsError) Is(target error) bool { return target == ErrOutputExists }

// IssueOption changes how Issue writes its files.
type IssueOption func(*issueOptions)

type issueOptions struct {
	overwrite bool
}

// Overwrite lets Issue replace an existing PREFIX.crt and PREFIX.key (for
// example with a certificate for another ID). Without it Issue refuses.
func Overwrite() IssueOption {
	return func(o *issueOptions) { o.overwrite = true }
}

// Issue writes PREFIX.crt and PREFIX.key (0600): an ECDSA P-256 X509-SVID
// for id with one URI SAN, critical key usage digitalSignature and EKU
// serverAuth+clientAuth, valid for ttl (0 = DefaultLeafTTL) but never
// beyond the CA's NotAfter. The ID must be a workload ID of the CA's trust
// domain. The serial is appended to DIR/issued.log for revoke and audit.
//
// Issue refuses, with an *OutputExistsError and before it signs anything,
// when PREFIX.crt or PREFIX.key already exists, unless Overwrite is given.
// The check is not a lock: two Issue calls racing on one prefix may both
// write, the last one winning.
func Issue(caDir, id, outPrefix string, ttl time.Duration, opts ...IssueOption) (certPath, keyPath string, err error) {
	var o issueOptions
	for _, opt := range opts {
		opt(&o)
	}
	a, err := load(caDir)
	if err != nil {
		return "", "", err
	}
	sid, err := identity.ParseWorkloadID(id)
	if err != nil {
		return "", "", rewrap(err)
	}
	if sid.TrustDomain().Name() != a.td {
		return "", "", fmt.Errorf("ca: ID %q is not in the CA's trust domain %q", id, a.td)
	}
	if ttl < 0 {
		return "", "", fmt.Errorf("ca: certificate lifetime %s is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultLeafTTL
	}
	if outPrefix == "" {
		return "", "", fmt.Errorf("ca: the output prefix is empty")
	}
	certPath, keyPath = outPrefix+".crt", outPrefix+".key"
	if !o.overwrite {
		for _, p := range []string{certPath, keyPath} {
			// Lstat: a symlink, even a dangling one, is an existing file.
			if _, err := os.Lstat(p); err == nil {
				return "", "", &OutputExistsError{Path: p}
			}
		}
	}
	key, err := newKey()
	if err != nil {
		return "", "", fmt.Errorf("ca: generate key: %w", err)
	}
	// Signed and recorded in issued.log like every certificate of this CA.
	leaf, err := a.signSVID(&key.PublicKey, sid, ttl, time.Now())
	if err != nil {
		return "", "", err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return "", "", fmt.Errorf("ca: encode key: %w", err)
	}
	// Key first, so that an agent reloading on the certificate's change
	// finds the matching key already in place.
	if err := writeFileAtomic(keyPath, kp, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certPath, certPEM(leaf.Raw), 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// record appends one line to DIR/issued.log: issue time, serial, ID, expiry.
func (a *authority) record(serial, id string, at, notAfter time.Time) error {
	p := filepath.Join(a.dir, IssuedFile)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("ca: record serial in %q: %w", p, unwrapPath(err))
	}
	_, err = fmt.Fprintf(f, "%s\t%s\t%s\t%s\n", at.UTC().Format(time.RFC3339), serial, id, notAfter.UTC().Format(time.RFC3339))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ca: record serial in %q: %w", p, err)
	}
	return nil
}

// prefixedError shows an identity error under the ca prefix while keeping
// it (and its Reason) reachable with errors.As.
type prefixedError struct{ err *identity.RejectError }

func (e prefixedError) Error() string { return "ca: " + e.err.Detail }
func (e prefixedError) Unwrap() error { return e.err }

func rewrap(err error) error {
	var re *identity.RejectError
	if errors.As(err, &re) {
		return prefixedError{re}
	}
	return fmt.Errorf("ca: %w", err)
}
