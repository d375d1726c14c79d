package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

func runCertIssue(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cert issue", "cert issue --ca DIR --id SPIFFE_ID --out PREFIX [--ttl 24h] [--force]", stderr)
	dir := fs.String("ca", "", "CA folder made by 'ztunnel ca init'")
	id := fs.String("id", "", "SPIFFE ID of the workload")
	out := fs.String("out", "", "output prefix: writes PREFIX.crt and PREFIX.key (0600)")
	ttl := fs.Duration("ttl", 24*time.Hour, "certificate lifetime (positive; capped at the CA's expiry)")
	force := fs.Bool("force", false, "replace an existing PREFIX.crt and PREFIX.key")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "ca", "id", "out") || !noArgs(fs, stderr) {
		return 2
	}
	if !positive(fs, stderr, "ttl") {
		return 2
	}
	var opts []ca.IssueOption
	if *force {
		opts = append(opts, ca.Overwrite())
	}
	crt, key, err := ca.Issue(*dir, *id, *out, *ttl, opts...)
	var exists *ca.OutputExistsError
	if errors.As(err, &exists) {
		fmt.Fprintf(stderr, "error: %q already exists; give --force to replace it\n", exists.Path)
		return 1
	}
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "issued %s: %s, %s\n", *id, crt, key)
	return 0
}
