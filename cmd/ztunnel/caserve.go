package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

// `ztunnel ca serve` runs the CA server until SIGTERM/SIGINT.
func runCAServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ca serve", "ca serve --dir DIR --listen ADDR [--svid-ttl 1h]", stderr)
	dir := fs.String("dir", "", "CA folder made by 'ztunnel ca init'")
	listen := fs.String("listen", "", "host:port to serve enrollment and renewal on (TLS)")
	ttl := fs.Duration("svid-ttl", time.Hour, "lifetime of the certificates it issues")
	logLevel := fs.String("log-level", "info", "trace|debug|info|warn|error")
	logJSON := fs.Bool("log-json", false, "log one JSON object per line")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "dir", "listen") || !noArgs(fs, stderr) || !positive(fs, stderr, "svid-ttl") {
		return 2
	}
	level := hclog.LevelFromString(*logLevel)
	if level == hclog.NoLevel {
		fmt.Fprintf(stderr, "ztunnel ca serve: --log-level %q is not one of trace, debug, info, warn, error\n", *logLevel)
		return 2
	}
	cfg := ca.DefaultServeConfig()
	cfg.Dir, cfg.Listen, cfg.SVIDTTL = *dir, *listen, *ttl
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "ztunnel.ca", Output: stderr,
		Level: level, JSONFormat: *logJSON})
	if err := cfg.Validate(); err != nil {
		return fail(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := ca.Serve(ctx, cfg); err != nil {
		return fail(stderr, err)
	}
	return 0
}

// `ztunnel ca token` prints a one-time join token for one ID.
func runCAToken(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ca token", "ca token --dir DIR --id SPIFFE_ID [--ttl 1h]", stderr)
	dir := fs.String("dir", "", "CA folder made by 'ztunnel ca init'")
	id := fs.String("id", "", "the SPIFFE ID the token may enroll, and no other")
	ttl := fs.Duration("ttl", time.Hour, "how long the token stays usable")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "dir", "id") || !noArgs(fs, stderr) || !positive(fs, stderr, "ttl") {
		return 2
	}
	tok, err := ca.NewToken(*dir, *id, *ttl)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
