package main

import (
	"fmt"
	"io"

	"github.com/ztunnel-dev/ztunnel/agent"
	"github.com/ztunnel-dev/ztunnel/config"
)

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "validate --config FILE [--print]", stderr)
	path := fs.StringP("config", "c", "", "agent config file (HCL)")
	print := fs.Bool("print", false, "print the resolved config (absolute paths, defaults filled in)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "config") || !noArgs(fs, stderr) {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	warnings, err := agent.Check(cfg)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *print {
		if err := config.Print(stdout, cfg); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	fmt.Fprintf(stdout, "%s: ok\n", cfg.File)
	return 0
}
