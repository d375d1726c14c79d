package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

func runCAInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ca init", "ca init --dir DIR --trust-domain TD [--ttl 87600h]", stderr)
	dir := fs.String("dir", "", "folder for ca.crt, ca.key and ca.crl (created 0700)")
	td := fs.String("trust-domain", "", "trust domain, e.g. example.org")
	ttl := fs.Duration("ttl", 87600*time.Hour, "lifetime of the CA certificate")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "dir", "trust-domain") || !noArgs(fs, stderr) || !positive(fs, stderr, "ttl") {
		return 2
	}
	if err := ca.Init(*dir, *td, *ttl); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "CA for spiffe://%s written to %s (ca.crt, ca.key, ca.crl)\n", *td, *dir)
	return 0
}

func runCertRevoke(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cert revoke", "cert revoke --ca DIR (--cert FILE | --serial HEX)", stderr)
	dir := fs.String("ca", "", "CA folder made by 'ztunnel ca init'")
	cert := fs.String("cert", "", "certificate file to revoke")
	serial := fs.String("serial", "", "serial number (hex) to revoke, instead of --cert")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "ca") || !noArgs(fs, stderr) {
		return 2
	}
	if (*cert == "") == (*serial == "") {
		fmt.Fprintln(stderr, "ztunnel cert revoke: give exactly one of --cert and --serial")
		return 2
	}
	if err := ca.Revoke(*dir, *cert, *serial); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "revoked; %s/ca.crl updated: reload the agents (SIGHUP) or let them pick it up\n", *dir)
	return 0
}

func runCertInspect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cert inspect", "cert inspect FILE", stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "ztunnel cert inspect: give exactly one certificate file")
		return 2
	}
	if err := ca.Inspect(stdout, fs.Arg(0)); err != nil {
		return fail(stderr, err)
	}
	return 0
}
