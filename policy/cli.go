package policy

import (
	"errors"
	"fmt"
	"io"
)

// Check prints the decision for r ("allow" or "deny" and the deciding
// rule) and one line per audit rule that matched, then returns the exit
// code of `ztunnel policy check`: 0 allow, 1 deny.
func Check(w io.Writer, p *Policy, r Request) int {
	d := p.Decide(r)
	fmt.Fprintf(w, "%s by %s\n", decisionWord(d.Allow), ruleWords(d.Rule))
	for _, a := range d.Audit {
		fmt.Fprintf(w, "audit: rule %q would %s\n", a.Rule, decisionWord(a.WouldAllow))
	}
	if d.Allow {
		return 0
	}
	return 1
}

// Test runs the test blocks of the policy file at path, for `ztunnel
// policy test`: one PASS or FAIL line per test and a summary go to w. It
// returns 0 when every test passes, 1 when one fails, and 2 when the file
// does not load; then every problem goes to errw, one per line, and w gets
// nothing. Tests without `at` are decided with every schedule window open
// (see RunTests).
func Test(w, errw io.Writer, path string) int {
	p, err := parseFile(path)
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			for _, prob := range le.Problems {
				fmt.Fprintln(errw, prob)
			}
		} else {
			fmt.Fprintln(errw, err)
		}
		return 2
	}
	results := p.RunTests()
	failed := 0
	for _, r := range results {
		if r.Pass {
			fmt.Fprintf(w, "PASS %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s (%s): %s\n", r.Name, r.Pos, r.failure())
	}
	switch {
	case len(results) == 0:
		fmt.Fprintf(w, "no test blocks in %s\n", path)
	case failed == 0:
		fmt.Fprintf(w, "ok: %d of %d tests passed\n", len(results), len(results))
	default:
		fmt.Fprintf(w, "FAIL: %d of %d tests failed\n", failed, len(results))
		return 1
	}
	return 0
}
