// Command ztunnel is the zero-trust L4 tunnel daemon and its tools. main
// only dispatches subcommands; each lives in its own file and returns its
// exit code (0 success, 1 failure, 2 usage error unless stated).
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: a usage line and a function that gets its
// arguments (after the command words) and returns the exit code.
type command struct {
	usage string
	run   func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"agent":        {"agent --config FILE                 run the daemon", runAgent},
		"validate":     {"validate --config FILE [--print]    check config and policy", runValidate},
		"ca init":      {"ca init --dir DIR --trust-domain TD [--ttl 87600h]", runCAInit},
		"ca serve":     {"ca serve --dir DIR --listen ADDR [--svid-ttl 1h]", runCAServe},
		"ca token":     {"ca token --dir DIR --id SPIFFE_ID [--ttl 1h]", runCAToken},
		"cert issue":   {"cert issue --ca DIR --id SPIFFE_ID --out PREFIX [--ttl 24h] [--force]", runCertIssue},
		"cert revoke":  {"cert revoke --ca DIR (--cert FILE | --serial HEX)", runCertRevoke},
		"cert inspect": {"cert inspect FILE", runCertInspect},
		"policy check": {"policy check --policy FILE --from ID --to ID [--port N] [--at RFC3339]", runPolicyCheck},
		"policy test":  {"policy test FILE", runPolicyTest},
		"status":       {"status [--admin ADDR]", runStatus},
		"members":      {"members [--admin ADDR]", runMembers},
		"keygen":       {"keygen                              print a new gossip key", runKeygen},
		"version":      {"version", runVersion},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	// Longest match first: "ca init" before "ca".
	for n := 2; n >= 1; n-- {
		if len(args) >= n {
			if c, ok := cmds[strings.Join(args[:n], " ")]; ok {
				return c.run(args[n:], stdout, stderr)
			}
		}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds, "")
		return 0
	}
	if len(args) == 1 || (len(args) > 1 && strings.HasPrefix(args[1], "-")) {
		// A group word alone ("ztunnel ca") lists its commands.
		if group := groupUsage(cmds, args[0]); group != "" {
			fmt.Fprintf(stderr, "ztunnel %s: a subcommand is required:\n%s", args[0], group)
			return 2
		}
	}
	fmt.Fprintf(stderr, "ztunnel: unknown command %q; run 'ztunnel --help' for the list\n", strings.Join(args[:min(2, len(args))], " "))
	return 2
}

func usage(w io.Writer, cmds map[string]command, _ string) {
	fmt.Fprintln(w, "ztunnel: zero-trust L4 tunnel with workload identities\n\nUsage:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  ztunnel %s\n", cmds[n].usage)
	}
	fmt.Fprintln(w, "\nRun 'ztunnel COMMAND --help' for a command's flags.")
}

func groupUsage(cmds map[string]command, group string) string {
	var b strings.Builder
	names := make([]string, 0)
	for n := range cmds {
		if strings.HasPrefix(n, group+" ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  ztunnel %s\n", cmds[n].usage)
	}
	return b.String()
}

// newFlags returns a flag set for a subcommand whose errors and help go to
// stderr, and which is never global.
func newFlags(name, usage string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ztunnel %s\n\nFlags:\n%s", usage, fs.FlagUsages())
	}
	return fs
}

// parse parses args; it returns (exit code, false) when the command must
// stop: 0 after --help, 2 after a usage error (already printed).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0, false
		}
		fmt.Fprintf(stderr, "ztunnel %s: %v\n", fs.Name(), err)
		return 2, false
	}
	return 0, true
}

// required reports a missing flag as a usage error.
func required(fs *pflag.FlagSet, stderr io.Writer, names ...string) bool {
	for _, n := range names {
		if !fs.Changed(n) {
			fmt.Fprintf(stderr, "ztunnel %s: --%s is required\n", fs.Name(), n)
			return false
		}
	}
	return true
}

// positive refuses a zero or negative duration flag: the library functions
// read zero as their default, but on the command line "--ttl 0s" is a
// mistake, not a request for the default.
func positive(fs *pflag.FlagSet, stderr io.Writer, name string) bool {
	d, err := fs.GetDuration(name)
	if err == nil && d <= 0 {
		fmt.Fprintf(stderr, "ztunnel %s: --%s must be a positive duration such as 24h, not %s\n", fs.Name(), name, d)
		return false
	}
	return true
}

// noArgs refuses positional arguments a command does not take.
func noArgs(fs *pflag.FlagSet, stderr io.Writer) bool {
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ztunnel %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return false
	}
	return true
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "error: %v\n", err)
	return 1
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "version", stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	fmt.Fprintf(stdout, "ztunnel %s\n", version)
	return 0
}
