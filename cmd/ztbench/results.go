package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// column is one figure of a table.
type column struct {
	key, title string
	table      int // 0: the figures; 1: the CPU cost of the path's processes
}

func columns(o *options) []column {
	return []column{
		{mMBps1, "MB/s 1 stream", 0},
		{mMBpsN, fmt.Sprintf("MB/s %d streams", o.Streams), 0},
		{mP50, "p50 µs", 0},
		{mP99, "p99 µs", 0},
		{mConnRate, fmt.Sprintf("conns/s %d clients", o.Clients), 0},
		{mRSSPerConn, "KiB RSS/idle conn", 0},
		{mCPUPerGB1, "CPU s/GB 1 stream", 1},
		{mCPUPerGBN, fmt.Sprintf("CPU s/GB %d streams", o.Streams), 1},
		{mCPUPerRT, "CPU µs/round trip", 1},
		{mCPUPerCon, "CPU µs/conn", 1},
	}
}

// goal is one of issue 8's goals for ztunnel.
type goal struct {
	Name string   `json:"name"`
	Want string   `json:"want"`
	Got  *float64 `json:"got,omitempty"` // nil when not measured
	Met  bool     `json:"met"`
}

type systemResult struct {
	Name   string               `json:"name"`
	Rounds []map[string]float64 `json:"rounds"`
	Median map[string]float64   `json:"median"`
}

type hostInfo struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel,omitempty"`
	// LoadStart and LoadEnd are /proc/loadavg's 1-minute load at the start
	// and end of the rounds: other work on the machine makes figures noisy.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
}

// loadAvg returns the 1-minute load average, or 0 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	fmt.Sscan(string(b), &v)
	return v
}

// results are the run's figures: every round and the medians per system,
// ztunnel's ratios to stunnel and the goals.
type results struct {
	Time    time.Time       `json:"time"`
	Host    hostInfo        `json:"host"`
	Options *options        `json:"options"`
	Systems []*systemResult `json:"systems"`
	// Ratios are each ztunnel path's medians over stunnel's, by path.
	Ratios map[string]map[string]float64 `json:"ratios_to_stunnel,omitempty"`
	Goals  []goal                        `json:"goals,omitempty"`
	Notes  []string                      `json:"notes,omitempty"`
	cols   []column
}

func newResults(o *options, systems []*system, notes []string) *results {
	r := &results{Time: time.Now().UTC(), Options: o, Notes: notes, cols: columns(o)}
	r.Host = hostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		r.Host.Kernel = strings.TrimSpace(string(b))
	}
	for _, s := range systems {
		r.Systems = append(r.Systems, &systemResult{Name: s.Name})
	}
	return r
}

func (r *results) system(name string) *systemResult {
	for _, s := range r.Systems {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// add merges m into system name's figures for round.
func (r *results) add(name string, round int, m map[string]float64) {
	s := r.system(name)
	for len(s.Rounds) <= round {
		s.Rounds = append(s.Rounds, map[string]float64{})
	}
	for k, v := range m {
		s.Rounds[round][k] = v
	}
}

// finish computes the medians, the ratios and the goals.
func (r *results) finish() {
	r.Host.LoadEnd = loadAvg()
	for _, s := range r.Systems {
		s.Median = map[string]float64{}
		keys := map[string]bool{}
		for _, m := range s.Rounds {
			for k := range m {
				keys[k] = true
			}
		}
		for k := range keys {
			var xs []float64
			for _, m := range s.Rounds {
				if v, ok := m[k]; ok {
					xs = append(xs, v)
				}
			}
			s.Median[k] = median(xs)
		}
	}
	z, st := r.system("ztunnel"), r.system("stunnel")
	get := func(s *systemResult, k string) float64 {
		if s == nil {
			return math.NaN()
		}
		if v, ok := s.Median[k]; ok {
			return v
		}
		return math.NaN()
	}
	r.Ratios = map[string]map[string]float64{}
	for _, s := range r.Systems {
		if s == st || s.Name == "direct" {
			continue
		}
		for _, c := range r.cols {
			if v := ratio(get(s, c.key), get(st, c.key)); !math.IsNaN(v) {
				if r.Ratios[s.Name] == nil {
					r.Ratios[s.Name] = map[string]float64{}
				}
				r.Ratios[s.Name][c.key] = v
			}
		}
	}
	if z == nil {
		return
	}
	check := func(name, want string, v float64, ok func(float64) bool) {
		g := goal{Name: name, Want: want}
		if !math.IsNaN(v) {
			g.Got = &v
			g.Met = ok(v)
		}
		r.Goals = append(r.Goals, g)
	}
	atLeast := func(x float64) func(float64) bool { return func(v float64) bool { return v >= x } }
	atMost := func(x float64) func(float64) bool { return func(v float64) bool { return v <= x } }
	rat := func(k string) float64 { return ratio(get(z, k), get(st, k)) }
	check("throughput, 1 stream, vs stunnel", ">= 1.0x", rat(mMBps1), atLeast(1))
	check(fmt.Sprintf("throughput, %d streams, vs stunnel", r.Options.Streams), ">= 1.0x", rat(mMBpsN), atLeast(1))
	check("p50 echo latency vs stunnel", "<= 1.0x", rat(mP50), atMost(1))
	check(fmt.Sprintf("new connections/s (%d clients) vs stunnel", r.Options.Clients), ">= 5.0x", rat(mConnRate), atLeast(5))
	check("RSS per idle connection, both agents", "<= 64 KiB", get(z, mRSSPerConn), atMost(64))
}

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// printTable writes the medians, ztunnel's ratios to stunnel and the goals.
func (r *results) printTable(w io.Writer) {
	fmt.Fprintf(w, "\nMedians of %d rounds (systems alternating), %d CPUs, load %.1f -> %.1f, %s\n\n",
		r.Options.Rounds, r.Host.CPUs, r.Host.LoadStart, r.Host.LoadEnd, r.Time.Format(time.RFC3339))
	r.printFigures(w, 0)
	fmt.Fprintln(w, "\nCPU time of the path's processes (both agents / both stunnels) per unit of work:")
	fmt.Fprintln(w)
	r.printFigures(w, 1)
	for _, s := range r.Systems {
		if e := s.Median[mConnErrors]; e > 0 {
			fmt.Fprintf(w, "\nnote: %s had failed connection attempts in the rate test (median %.0f per round)\n", s.Name, e)
		}
	}
	if len(r.Goals) > 0 {
		fmt.Fprintln(w, "\nGoals (issue 8):")
		for _, g := range r.Goals {
			got, mark := "not measured", "?"
			if g.Got != nil {
				got = fmtNum(*g.Got)
				if strings.HasSuffix(g.Want, "x") {
					got += "x"
				} else {
					got += " KiB"
				}
				mark = map[bool]string{true: "met", false: "NOT met"}[g.Met]
			}
			fmt.Fprintf(w, "  %-45s want %-9s got %-10s %s\n", g.Name, g.Want, got, mark)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
}

// printFigures prints the medians of one table's columns, one row per
// path, and a row of ratios to stunnel per ztunnel path.
func (r *results) printFigures(w io.Writer, table int) {
	var cols []column
	for _, c := range r.cols {
		if c.table == table {
			cols = append(cols, c)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"path"}
	for _, c := range cols {
		head = append(head, c.title)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range r.Systems {
		row := []string{s.Name}
		for _, c := range cols {
			v, ok := s.Median[c.key]
			if !ok {
				v = math.NaN()
			}
			row = append(row, fmtNum(v))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	for _, s := range r.Systems {
		ratios, ok := r.Ratios[s.Name]
		if !ok {
			continue
		}
		row := []string{s.Name + "/stunnel"}
		for _, c := range cols {
			v, ok := ratios[c.key]
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, fmt.Sprintf("%.2fx", v))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

func (r *results) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
