package policy

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var testSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from"}, {Name: "to"}, {Name: "port"}, {Name: "at"}, {Name: "expect"}, {Name: "rule"},
	},
}

// testCase is one compiled test block of a policy file.
type testCase struct {
	name     string
	pos      string // file:line
	at       string // file:line:col, for load errors
	req      Request
	anyTime  bool // no `at`: decide as if every schedule window were open
	allow    bool
	wantRule string // "" when the block has no rule
}

// TestResult is the outcome of one test block.
type TestResult struct {
	Name     string
	Pass     bool
	Got      Decision
	Want     string // "allow" or "deny"
	WantRule string // the expected deciding rule; "" when the test names none
	Pos      string // file:line of the test block
}

// failure says what went wrong, for a failed result.
func (r TestResult) failure() string {
	want := r.Want
	if r.WantRule != "" {
		want += " by " + ruleWords(r.WantRule)
	}
	return fmt.Sprintf("want %s, got %s by %s", want, decisionWord(r.Got.Allow), ruleWords(r.Got.Rule))
}

func decisionWord(allow bool) string {
	if allow {
		return ActionAllow
	}
	return ActionDeny
}

// ruleWords names a deciding rule in prose: `rule "x"` or `default`.
func ruleWords(name string) string {
	if name == DefaultRule {
		return DefaultRule
	}
	return "rule " + strconv.Quote(name)
}

// RunTests runs every test block of the file, in file order. A test
// without `at` is decided as if every schedule window were open, so its
// result does not depend on when it runs (tests run at every load: a file
// must not turn invalid at night); a test that checks a window gives `at`.
func (p *Policy) RunTests() []TestResult {
	out := make([]TestResult, 0, len(p.tests))
	for _, tc := range p.tests {
		out = append(out, p.runTest(tc))
	}
	return out
}

// testProblems runs the tests and returns one load problem per failure.
func (p *Policy) testProblems() []string {
	var out []string
	for _, tc := range p.tests {
		if r := p.runTest(tc); !r.Pass {
			out = append(out, tc.at+": test "+quote(r.Name)+" failed: "+r.failure())
		}
	}
	return out
}

func (p *Policy) runTest(tc testCase) TestResult {
	got := p.decide(tc.req, tc.anyTime)
	pass := got.Allow == tc.allow && (tc.wantRule == "" || tc.wantRule == got.Rule)
	return TestResult{
		Name: tc.name, Pass: pass, Got: got, Want: decisionWord(tc.allow),
		WantRule: tc.wantRule, Pos: tc.pos,
	}
}

func (d *decoder) test(b *hcl.Block, ruleAt map[string]string) (testCase, bool) {
	tc := testCase{
		name:    b.Labels[0],
		pos:     d.file + ":" + strconv.Itoa(b.DefRange.Start.Line),
		at:      posString(d.file, b.DefRange.Start),
		anyTime: true,
	}
	what := "test " + quote(tc.name)
	content, diags := b.Body.Content(testSchema)
	d.addHCL(diags)
	ok := !diags.HasErrors()

	id := func(name string) string {
		a := content.Attributes[name]
		if a == nil {
			d.errorf(b.DefRange, "%s: %s is required", what, name)
			ok = false
			return ""
		}
		s, ok1 := d.str(a.Expr, what+": "+name)
		if !ok1 {
			ok = false
			return ""
		}
		if err := checkID(s); err != nil {
			d.errorf(a.Expr.Range(), "%s: %s %q is not a SPIFFE workload ID: %v", what, name, s, err)
			ok = false
		}
		return s
	}
	tc.req.From, tc.req.To = id("from"), id("to")

	if a := content.Attributes["port"]; a != nil {
		n, ok1 := d.integer(a.Expr, what+": port", 0, 65535)
		tc.req.Port = n
		ok = ok && ok1
	}
	if a := content.Attributes["at"]; a != nil {
		if s, ok1 := d.str(a.Expr, what+": at"); !ok1 {
			ok = false
		} else if t, err := time.Parse(time.RFC3339, s); err != nil {
			d.errorf(a.Expr.Range(), "%s: at %q is not an RFC 3339 time such as \"2026-03-02T09:30:00+01:00\"", what, s)
			ok = false
		} else {
			tc.req.At, tc.anyTime = t, false
		}
	}
	if a := content.Attributes["expect"]; a == nil {
		d.errorf(b.DefRange, "%s: expect is required (%q or %q)", what, ActionAllow, ActionDeny)
		ok = false
	} else if s, ok1 := d.str(a.Expr, what+": expect"); !ok1 {
		ok = false
	} else if s == ActionAllow || s == ActionDeny {
		tc.allow = s == ActionAllow
	} else {
		d.errorf(a.Expr.Range(), "%s: expect must be %q or %q, not %q", what, ActionAllow, ActionDeny, s)
		ok = false
	}
	if a := content.Attributes["rule"]; a != nil {
		if s, ok1 := d.str(a.Expr, what+": rule"); !ok1 {
			ok = false
		} else if _, known := ruleAt[s]; !known && s != DefaultRule && s != InvalidIDRule {
			d.errorf(a.Expr.Range(), "%s: rule %q is not a rule of this policy", what, s)
			ok = false
		} else {
			tc.wantRule = s
		}
	}
	return tc, ok
}
