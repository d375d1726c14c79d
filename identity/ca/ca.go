// Package ca is the built-in CA used by `ztunnel ca ...` and `ztunnel cert ...`.
package ca

import (
	"errors"
	"io"
	"time"
)

var errNotImplemented = errors.New("ca: not implemented yet")

// Init creates a new root CA in dir.
func Init(dir, trustDomain string, ttl time.Duration) error { return errNotImplemented }

// Issue issues a workload X509-SVID.
func Issue(caDir, id, outPrefix string, ttl time.Duration) (certPath, keyPath string, err error) {
	return "", "", errNotImplemented
}

// Revoke adds a certificate to the CA's CRL.
func Revoke(caDir, certFile, serial string) error { return errNotImplemented }

// Inspect prints a certificate and its SVID rule checks.
func Inspect(w io.Writer, certFile string) error { return errNotImplemented }
