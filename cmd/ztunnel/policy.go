package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ztunnel-dev/ztunnel/policy"
)

// `policy check` exits 0 allow, 1 deny, 2 error (DESIGN §7).
func runPolicyCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy check", "policy check --policy FILE --from ID --to ID [--port N] [--at RFC3339]", stderr)
	file := fs.String("policy", "", "policy file (HCL)")
	from := fs.String("from", "", "source SPIFFE ID")
	to := fs.String("to", "", "destination SPIFFE ID")
	port := fs.Int("port", 0, "destination port (0: unknown; rules with ports then do not match)")
	at := fs.String("at", "", "decide at this time (RFC3339), for schedules; default now")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "policy", "from", "to") || !noArgs(fs, stderr) {
		return 2
	}
	req := policy.Request{From: *from, To: *to, Port: *port, At: time.Now()}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "ztunnel policy check: --at %q is not an RFC3339 time (like 2026-01-02T15:04:05Z)\n", *at)
			return 2
		}
		req.At = t
	}
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(stderr, "ztunnel policy check: --port %d is out of range (0..65535)\n", *port)
		return 2
	}
	for _, id := range []string{*from, *to} {
		if err := policy.ValidateID(id); err != nil {
			fmt.Fprintf(stderr, "ztunnel policy check: %v\n", err)
			return 2
		}
	}
	p, err := policy.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return policy.Check(stdout, p, req)
}

func runPolicyTest(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy test", "policy test FILE", stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "ztunnel policy test: give exactly one policy file")
		return 2
	}
	return policy.Test(stdout, stderr, fs.Arg(0))
}
