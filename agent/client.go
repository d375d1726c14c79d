package agent

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ztunnel-dev/ztunnel/admin"
	"github.com/ztunnel-dev/ztunnel/discovery"
)

// This file is the CLI's side of the admin API (`ztunnel status`,
// `ztunnel members`): cmd/ztunnel knows only this package.

// FetchStatus reads GET /v1/status from the agent at addr.
func FetchStatus(addr string) (Status, error) {
	var st Status
	err := admin.NewClient(addr).Get("/v1/status", &st)
	return st, err
}

// FetchMembers reads GET /v1/members from the agent at addr.
func FetchMembers(addr string) ([]discovery.Member, error) {
	var ms []discovery.Member
	err := admin.NewClient(addr).Get("/v1/members", &ms)
	return ms, err
}

// GenerateGossipKey returns a new base64 gossip key (`ztunnel keygen`).
func GenerateGossipKey() (string, error) { return discovery.GenerateKey() }

// PrintStatus writes a human summary of st.
func PrintStatus(w io.Writer, st Status) {
	ready := "ready"
	if !st.Ready {
		ready = "NOT READY: " + st.NotReady
	}
	fmt.Fprintf(w, "node      %s (ztunnel %s), up %s, %s\n", st.Node, st.Version,
		(time.Duration(st.UptimeSeconds) * time.Second).String(), ready)
	fmt.Fprintf(w, "policy    %s, version %s, %d rules\n", st.Policy.File, st.Policy.Version, st.Policy.Rules)
	if r := st.LastReload; r != nil {
		res := "ok"
		if !r.OK {
			res = "FAILED: " + r.Error
		}
		fmt.Fprintf(w, "reload    %s by %s: %s\n", r.At.Format(time.RFC3339), r.Source, res)
	}

	fmt.Fprintln(w, "\nworkloads")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tID\tCERTIFICATE\tEXPIRES")
	for _, wl := range st.Workloads {
		exp := "-"
		if !wl.NotAfter.IsZero() {
			left := time.Duration(wl.ExpiresInSeconds) * time.Second
			when := "in " + left.String()
			if left < 0 {
				when = (-left).String() + " ago"
			}
			exp = fmt.Sprintf("%s (%s)", wl.NotAfter.Format(time.RFC3339), when)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", wl.Name, wl.ID, wl.State, exp)
	}
	tw.Flush()
	printRenewals(w, st.Workloads)
	printPeers(w, st.Peers)

	t := st.Tunnels
	fmt.Fprintf(w, "\ntunnels   %d (%d out, %d in), streams %d (%d out, %d in)\n", t.Totals.Tunnels,
		t.Totals.OutboundTunnels, t.Totals.InboundTunnels, t.Totals.Streams, t.Totals.OutboundStreams, t.Totals.InboundStreams)
	if len(t.Tunnels) > 0 {
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  DIR\tSOURCE\tTARGET\tPEER\tSTREAMS")
		for _, tu := range t.Tunnels {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\n", tu.Direction, tu.Source, tu.Target, tu.Peer, tu.Streams)
		}
		tw.Flush()
	}

	// The connection matrix: live streams per (source, target).
	matrix := map[[2]string]int{}
	for _, s := range t.Streams {
		matrix[[2]string{s.Source, s.Target}]++
	}
	if len(matrix) > 0 {
		keys := make([][2]string, 0, len(matrix))
		for k := range matrix {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return strings.Join(keys[i][:], " ") < strings.Join(keys[j][:], " ") })
		fmt.Fprintln(w, "\nstreams (source -> target)")
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t->\t%s\t%d\n", k[0], k[1], matrix[k])
		}
		tw.Flush()
	}
}

// PrintMembers writes the gossip members as a table.
func PrintMembers(w io.Writer, ms []discovery.Member) {
	if len(ms) == 0 {
		fmt.Fprintln(w, "no gossip members (this agent has no gossip block)")
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tGOSSIP\tTUNNEL\tWORKLOADS")
	for _, m := range ms {
		ids := make([]string, 0, len(m.Workloads))
		for _, wl := range m.Workloads {
			ids = append(ids, wl.ID)
		}
		name := m.Name
		if m.Self {
			name += " (self)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, m.State, m.GossipAddr, m.TunnelAddr, strings.Join(ids, ","))
	}
	tw.Flush()
}

// printRenewals prints the renewal state of the enrolled workloads.
func printRenewals(w io.Writer, wls []WorkloadStatus) {
	for _, wl := range wls {
		e := wl.Enroll
		if e == nil {
			continue
		}
		next := "-"
		if !e.NextRenewal.IsZero() {
			next = e.NextRenewal.UTC().Format(time.RFC3339)
		}
		reach := "reachable"
		if !e.ServerReachable {
			reach = "NOT reachable"
		}
		last := "none yet"
		switch e.LastOutcome {
		case "ok":
			last = "ok at " + e.LastSuccess.UTC().Format(time.RFC3339)
		case "error":
			last = fmt.Sprintf("FAILED %d times in a row: %s", e.Failures, e.LastError)
		}
		fmt.Fprintf(w, "  renewal of %s: next %s; last %s; CA server %s %s\n", wl.Name, next, last, e.Server, reach)
	}
}

// maxPeersShown caps the peers table of `ztunnel status`: a large mesh has
// hundreds of gossip members, and the summary must stay readable.
const maxPeersShown = 30

// printPeers prints the static peers and gossip members.
func printPeers(w io.Writer, peers []PeerStatus) {
	static := 0
	for _, p := range peers {
		if p.Source == "static" {
			static++
		}
	}
	fmt.Fprintf(w, "\npeers     %d (%d static, %d gossip)\n", len(peers), static, len(peers)-static)
	if len(peers) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tADDRESS\tSOURCE\tSTATE\tWORKLOADS")
	shown := peers
	if len(shown) > maxPeersShown {
		shown = shown[:maxPeersShown]
	}
	defer func() {
		if n := len(peers) - len(shown); n > 0 {
			fmt.Fprintf(w, "  ... and %d more (ztunnel members, or /v1/status, lists them all)\n", n)
		}
	}()
	for _, p := range shown {
		wls := "-"
		switch n := len(p.Workloads); {
		case n == 1:
			wls = p.Workloads[0]
		case n > 1:
			wls = fmt.Sprintf("%s (+%d more)", p.Workloads[0], n-1)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", p.Name, p.Address, p.Source, p.State, wls)
	}
	tw.Flush()
}
