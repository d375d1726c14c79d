package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are ztbench's flags.
type options struct {
	Ztunnel        string        `json:"-"`
	Stunnel        string        `json:"-"`
	InstallStunnel bool          `json:"-"`
	Systems        []string      `json:"systems"`
	Rounds         int           `json:"rounds"`
	BulkTime       time.Duration `json:"bulk_time_ns"`
	LatencyTime    time.Duration `json:"latency_time_ns"`
	RateTime       time.Duration `json:"rate_time_ns"`
	Streams        int           `json:"streams"`
	Clients        int           `json:"clients"`
	IdleConns      int           `json:"idle_conns"`
	IdleSettle     time.Duration `json:"idle_settle_ns"`
	LogLevel       string        `json:"log_level"`
	AgentEnv       []string      `json:"agent_env,omitempty"`
	Compare        []string      `json:"compare,omitempty"`
	variants       []zVariant    // from Compare
	JSON           string        `json:"-"`
	ProfileDir     string        `json:"-"`
	ProfileTime    time.Duration `json:"-"`
	Keep           bool          `json:"-"`
}

var knownSystems = []string{"direct", "ztunnel", "stunnel"}

// errUsage marks a bad command line (exit code 2).
var errUsage = errors.New("ztbench: usage")

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("ztbench", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Ztunnel, "ztunnel", "bin/ztunnel", "the ztunnel binary to benchmark")
	fs.StringVar(&o.Stunnel, "stunnel", "", "stunnel binary (default: stunnel4 or stunnel from $PATH)")
	fs.BoolVar(&o.InstallStunnel, "install-stunnel", true, "when stunnel is missing and we are root, apt-get install stunnel4")
	fs.StringSliceVar(&o.Systems, "systems", knownSystems, "paths to measure: direct, ztunnel, stunnel")
	fs.IntVar(&o.Rounds, "rounds", 5, "rounds; systems alternate within each round and medians are reported")
	fs.DurationVar(&o.BulkTime, "bulk-time", 1500*time.Millisecond, "length of each throughput transfer")
	fs.DurationVar(&o.LatencyTime, "latency-time", time.Second, "length of each echo round-trip run")
	fs.DurationVar(&o.RateTime, "rate-time", time.Second, "length of each connection-rate run")
	fs.IntVar(&o.Streams, "streams", 8, "parallel streams in the multi-stream throughput test")
	fs.IntVar(&o.Clients, "clients", 8, "parallel clients in the connection-rate test")
	fs.IntVar(&o.IdleConns, "idle-conns", 2000, "connections held open for the RSS-per-connection test")
	fs.DurationVar(&o.IdleSettle, "idle-settle", 500*time.Millisecond, "wait after opening the idle connections before reading RSS")
	fs.StringVar(&o.LogLevel, "log-level", "info", "the agents' log_level")
	fs.StringArrayVar(&o.AgentEnv, "agent-env", nil, "KEY=VALUE added to the agents' environment (repeatable), e.g. GOMAXPROCS=2")
	fs.StringArrayVar(&o.Compare, "compare", nil, "'NAME=BINARY [KEY=VALUE ...]': also measure this ztunnel build (and agent environment) as path NAME (repeatable)")
	fs.StringVar(&o.JSON, "json", "bench/results/latest.json", "write the results here as JSON (empty: do not)")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "after the rounds, take CPU, heap and goroutine profiles of both agents per phase into this folder")
	fs.DurationVar(&o.ProfileTime, "profile-time", 5*time.Second, "length of each profiled phase")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work folder (configs, certificates, logs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		fmt.Fprintf(stderr, "ztbench: %v\n", err)
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ztbench: unexpected argument %q\n", fs.Arg(0))
		return nil, errUsage
	}
	for _, s := range o.Systems {
		if !contains(knownSystems, s) {
			fmt.Fprintf(stderr, "ztbench: unknown system %q in --systems (want %s)\n", s, strings.Join(knownSystems, ", "))
			return nil, errUsage
		}
	}
	for _, kv := range o.AgentEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			fmt.Fprintf(stderr, "ztbench: --agent-env %q is not KEY=VALUE\n", kv)
			return nil, errUsage
		}
	}
	seen := map[string]bool{}
	for _, s := range knownSystems {
		seen[s] = true
	}
	for _, c := range o.Compare {
		v, err := parseVariant(c)
		if err == nil && seen[v.name] {
			err = fmt.Errorf("path name %q is taken", v.name)
		}
		if err != nil {
			fmt.Fprintf(stderr, "ztbench: --compare %q: %v\n", c, err)
			return nil, errUsage
		}
		seen[v.name] = true
		o.variants = append(o.variants, v)
	}
	switch {
	case o.Rounds < 1:
		fmt.Fprintln(stderr, "ztbench: --rounds must be at least 1")
		return nil, errUsage
	case o.Streams < 1 || o.Clients < 1:
		fmt.Fprintln(stderr, "ztbench: --streams and --clients must be at least 1")
		return nil, errUsage
	case o.BulkTime <= 0 || o.LatencyTime <= 0 || o.RateTime <= 0:
		fmt.Fprintln(stderr, "ztbench: --bulk-time, --latency-time and --rate-time must be positive")
		return nil, errUsage
	case o.ProfileTime < time.Second:
		fmt.Fprintln(stderr, "ztbench: --profile-time must be at least 1s")
		return nil, errUsage
	}
	return o, nil
}

// parseVariant parses --compare's "NAME=BINARY [KEY=VALUE ...]".
func parseVariant(s string) (zVariant, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return zVariant{}, errors.New("empty")
	}
	name, bin, ok := strings.Cut(f[0], "=")
	if !ok || name == "" || bin == "" || strings.ContainsAny(name, "/\\") {
		return zVariant{}, errors.New("want NAME=BINARY first")
	}
	for _, kv := range f[1:] {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return zVariant{}, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
	}
	return zVariant{name: name, bin: bin, env: f[1:]}, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if err := bench(o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "ztbench: %v\n", err)
		return 1
	}
	return 0
}

// raiseNoFile raises the soft open-files limit to the hard limit: the idle
// test holds two descriptors per connection here (client and backend ends),
// and the children inherit the limit.
func raiseNoFile(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return err
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("open-files limit %d is below the %d that --idle-conns needs; raise it (ulimit -n) or lower --idle-conns", lim.Cur, need)
	}
	return nil
}

func bench(o *options, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if err := raiseNoFile(2*o.IdleConns + 512); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ztbench-")
	if err != nil {
		return err
	}
	if o.Keep {
		logf("work folder: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b, err := startBackends()
	if err != nil {
		return fmt.Errorf("backends: %w", err)
	}
	defer b.Close()

	var notes []string
	var systems []*system
	defer func() {
		for _, s := range systems {
			s.Stop()
		}
	}()
	needPKI := contains(o.Systems, "ztunnel") || contains(o.Systems, "stunnel") || len(o.variants) > 0
	if needPKI {
		if _, err := os.Stat(o.Ztunnel); err != nil {
			return fmt.Errorf("ztunnel binary %q: %w (run make build)", o.Ztunnel, err)
		}
		if err := makePKI(o.Ztunnel, dir); err != nil {
			return fmt.Errorf("certificates: %w", err)
		}
	}
	for _, name := range o.Systems {
		switch name {
		case "direct":
			systems = append(systems, directSystem(b))
		case "ztunnel":
			s, err := startZtunnel(zVariant{"ztunnel", o.Ztunnel, o.AgentEnv}, dir, o.LogLevel, b)
			if err != nil {
				return fmt.Errorf("ztunnel: %w", err)
			}
			systems = append(systems, s)
		case "stunnel":
			bin, err := findStunnel(o.Stunnel, o.InstallStunnel, func(s string) { logf("%s", s) })
			if err != nil {
				note := fmt.Sprintf("stunnel skipped: %v", err)
				logf("ztbench: %s", note)
				notes = append(notes, note)
				continue
			}
			s, err := startStunnel(bin, dir, b)
			if err != nil {
				return fmt.Errorf("stunnel: %w", err)
			}
			systems = append(systems, s)
		}
	}
	for _, v := range o.variants {
		s, err := startZtunnel(v, dir, o.LogLevel, b)
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		systems = append(systems, s)
	}
	logf("systems ready: %s; %d rounds", names(systems), o.Rounds)

	res := newResults(o, systems, notes)
	for r := range o.Rounds {
		for _, ph := range phases(o) {
			for _, s := range rotate(systems, r) {
				m, err := ph.run(s)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", r+1, ph.name, s.Name, err)
				}
				res.add(s.Name, r, m)
			}
		}
		logf("round %d/%d done", r+1, o.Rounds)
	}
	res.finish()
	res.printTable(stdout)
	if o.JSON != "" {
		if err := res.writeJSON(o.JSON); err != nil {
			return fmt.Errorf("write %s: %w", o.JSON, err)
		}
		logf("results written to %s", o.JSON)
	}
	if o.ProfileDir != "" {
		for _, s := range systems {
			if s.Name == "ztunnel" {
				if err := profileZtunnel(o, s, logf); err != nil {
					return fmt.Errorf("profiles: %w", err)
				}
				abs, _ := filepath.Abs(o.ProfileDir)
				logf("profiles written to %s", abs)
			}
		}
	}
	return nil
}

func names(ss []*system) string {
	n := make([]string, len(ss))
	for i, s := range ss {
		n[i] = s.Name
	}
	return strings.Join(n, ", ")
}

// rotate returns ss shifted left by r, so each system leads one round.
func rotate(ss []*system, r int) []*system {
	if len(ss) == 0 {
		return nil
	}
	r %= len(ss)
	return append(append([]*system{}, ss[r:]...), ss[:r]...)
}
