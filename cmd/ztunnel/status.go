package main

import (
	"fmt"
	"io"

	"github.com/ztunnel-dev/ztunnel/agent"
)

const defaultAdmin = "127.0.0.1:15000"

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "status [--admin ADDR]", stderr)
	addr := fs.String("admin", defaultAdmin, "agent admin address (host:port or unix socket path)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !noArgs(fs, stderr) {
		return 2
	}
	st, err := agent.FetchStatus(*addr)
	if err != nil {
		return fail(stderr, err)
	}
	agent.PrintStatus(stdout, st)
	return 0
}

func runMembers(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("members", "members [--admin ADDR]", stderr)
	addr := fs.String("admin", defaultAdmin, "agent admin address (host:port or unix socket path)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !noArgs(fs, stderr) {
		return 2
	}
	ms, err := agent.FetchMembers(*addr)
	if err != nil {
		return fail(stderr, err)
	}
	agent.PrintMembers(stdout, ms)
	return 0
}

func runKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "keygen", stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !noArgs(fs, stderr) {
		return 2
	}
	key, err := agent.GenerateGossipKey()
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, key)
	return 0
}
