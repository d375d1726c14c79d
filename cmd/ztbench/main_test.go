package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd unsorted", []float64{5, 1, 3}, 3},
		{"even is the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"duplicates", []float64{2, 2, 9}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := median(tt.in); got != tt.want {
				t.Fatalf("median(%v) = %v, want %v", in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("median modified its input: %v, was %v", tt.in, in)
				}
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Fatalf("median(nil) = %v, want NaN", got)
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Microsecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single", []time.Duration{7}, 99, 7},
		{"p50 of 100", hundred, 50, 50 * time.Microsecond},
		{"p99 of 100", hundred, 99, 99 * time.Microsecond},
		{"p100 is the max", hundred, 100, 100 * time.Microsecond},
		{"p50 of 4 takes the second", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"p99 of 4 takes the last", []time.Duration{1, 2, 3, 4}, 99, 4},
		{"tiny p takes the first", []time.Duration{1, 2, 3, 4}, 0.1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr string
	}{
		{"found", "Name:\tx\nVmPeak:\t  999 kB\nVmRSS:\t    1234 kB\nThreads:\t3\n", 1234, ""},
		{"missing", "Name:\tx\n", 0, "no VmRSS line"},
		{"malformed", "VmRSS:\t12\n", 0, `malformed VmRSS line "VmRSS:\t12"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmRSS(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // in stderr; empty means success
		check   func(*options) bool
	}{
		{"defaults", nil, "", func(o *options) bool {
			return o.Rounds == 5 && o.Streams == 8 && o.Clients == 8 && o.IdleConns == 2000 &&
				o.JSON == "bench/results/latest.json" && len(o.Systems) == 3
		}},
		{"systems subset", []string{"--systems", "direct,ztunnel", "--rounds", "5"}, "", func(o *options) bool {
			return len(o.Systems) == 2 && o.Systems[1] == "ztunnel" && o.Rounds == 5
		}},
		{"unknown system", []string{"--systems", "ghostunnel"}, `unknown system "ghostunnel"`, nil},
		{"zero rounds", []string{"--rounds", "0"}, "--rounds must be at least 1", nil},
		{"short profile", []string{"--profile-time", "100ms"}, "--profile-time must be at least 1s", nil},
		{"agent env", []string{"--agent-env", "GOMAXPROCS=1", "--agent-env", "GODEBUG=x=1"}, "", func(o *options) bool {
			return len(o.AgentEnv) == 2 && o.AgentEnv[0] == "GOMAXPROCS=1"
		}},
		{"compare", []string{"--compare", "big=/tmp/zt GOMAXPROCS=1", "--compare", "plain=/tmp/zt2"}, "", func(o *options) bool {
			return len(o.variants) == 2 && o.variants[0].name == "big" && o.variants[0].bin == "/tmp/zt" &&
				len(o.variants[0].env) == 1 && len(o.variants[1].env) == 0
		}},
		{"compare taken name", []string{"--compare", "stunnel=/tmp/zt"}, `path name "stunnel" is taken`, nil},
		{"compare without binary", []string{"--compare", "big"}, "want NAME=BINARY first", nil},
		{"compare bad env", []string{"--compare", "big=/tmp/zt FOO"}, `"FOO" is not KEY=VALUE`, nil},
		{"bad agent env", []string{"--agent-env", "GOMAXPROCS"}, `--agent-env "GOMAXPROCS" is not KEY=VALUE`, nil},
		{"stray argument", []string{"now"}, `unexpected argument "now"`, nil},
		{"unknown flag", []string{"--fast"}, "unknown flag: --fast", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.wantErr != "" {
				if err != errUsage || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Fatalf("err = %v, stderr %q; want usage error with %q", err, stderr.String(), tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("parseFlags(%q) = %+v, %v", tt.args, o, err)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	ss := []*system{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	for r, want := range []string{"a, b, c", "b, c, a", "c, a, b", "a, b, c"} {
		if got := names(rotate(ss, r)); got != want {
			t.Errorf("rotate(%d) = %s, want %s", r, got, want)
		}
	}
}

// TestGoals checks the ratios and goal verdicts from fixed figures, and
// that a missing stunnel leaves the ratio goals unmeasured.
func TestGoals(t *testing.T) {
	o, _ := parseFlags(nil, &bytes.Buffer{})
	mk := func(withStunnel bool) *results {
		ss := []*system{{Name: "ztunnel"}}
		if withStunnel {
			ss = append(ss, &system{Name: "stunnel"})
		}
		r := newResults(o, ss, nil)
		r.add("ztunnel", 0, map[string]float64{mMBps1: 500, mMBpsN: 400, mP50: 100, mConnRate: 3000, mRSSPerConn: 70})
		if withStunnel {
			r.add("stunnel", 0, map[string]float64{mMBps1: 400, mMBpsN: 500, mP50: 200, mConnRate: 500, mRSSPerConn: 200})
		}
		r.finish()
		return r
	}
	r := mk(true)
	want := []bool{true, false, true, true, false}
	if len(r.Goals) != len(want) {
		t.Fatalf("%d goals, want %d", len(r.Goals), len(want))
	}
	for i, g := range r.Goals {
		if g.Got == nil || g.Met != want[i] {
			t.Errorf("goal %q: got %v met %v, want met %v", g.Name, g.Got, g.Met, want[i])
		}
	}
	if got := r.Ratios["ztunnel"][mConnRate]; got != 6 {
		t.Errorf("conn rate ratio = %v, want 6", got)
	}
	var out bytes.Buffer
	r.printTable(&out)
	if !strings.Contains(out.String(), "ztunnel/stunnel") || !strings.Contains(out.String(), "NOT met") {
		t.Errorf("table lacks the ratio row or a verdict:\n%s", out.String())
	}

	r = mk(false)
	for _, g := range r.Goals[:4] {
		if g.Got != nil || g.Met {
			t.Errorf("goal %q measured without stunnel", g.Name)
		}
	}
	if g := r.Goals[4]; g.Got == nil || *g.Got != 70 {
		t.Errorf("RSS goal without stunnel = %v, want 70", g.Got)
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{"plain", "1234 (ztunnel) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 0 0", 3250 * time.Millisecond, ""},
		{"name with spaces and parens", "77 (a (b) c) R 1 77 77 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0", 70 * time.Millisecond, ""},
		{"truncated", "77 (x) R 1 2 3", 0, "malformed stat line"},
		{"no name", "77 x R", 0, "malformed stat line"},
		{"not a number", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a 4 0", 0, "malformed stat line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
