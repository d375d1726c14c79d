package policy

import (
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var (
	rootSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "default"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "rule", LabelNames: []string{"name"}},
			{Type: "test", LabelNames: []string{"name"}},
		},
	}
	ruleSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "action"}, {Name: "from"}, {Name: "to"}, {Name: "ports"}, {Name: "mode"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "schedule"}},
	}
	scheduleSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "days"}, {Name: "hours"}, {Name: "timezone"}},
	}
)

const patternExample = `["spiffe://example.org/ns/prod/sa/frontend"]`

// Parse parses and validates a policy file held in src; filename is used
// in messages and returned by Source. It does not run the file's tests
// (Load and RunTests do). Every problem is reported in one *LoadError.
func Parse(filename string, src []byte) (*Policy, error) {
	d := &decoder{file: filename}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// The syntax tree is unreliable now; more checks would only add noise.
		d.addHCL(diags)
		return nil, d.err()
	}
	content, diags := file.Body.Content(rootSchema)
	d.addHCL(diags)

	p := &Policy{source: filename, version: versionOf(src), lastAudit: -1}
	if a := content.Attributes["default"]; a != nil {
		if s, ok := d.str(a.Expr, "default"); ok {
			switch s {
			case ActionAllow:
				p.defaultAllow = true
			case ActionDeny:
			default:
				d.errorf(a.Expr.Range(), "default must be %q or %q, not %q", ActionAllow, ActionDeny, s)
			}
		}
	}

	ruleAt := map[string]string{}
	testAt := map[string]string{}
	var tests []*hcl.Block
	for _, b := range content.Blocks {
		name, at := b.Labels[0], posString(filename, b.DefRange.Start)
		seen := ruleAt
		if b.Type == "test" {
			seen = testAt
		}
		if first, dup := seen[name]; dup {
			d.errorf(b.LabelRanges[0], "duplicate %s name %q; it is first defined at %s", b.Type, name, first)
		} else {
			seen[name] = at
		}
		if b.Type == "test" {
			tests = append(tests, b)
			continue
		}
		if r, ok := d.rule(b); ok {
			p.rules = append(p.rules, r)
		}
	}
	for i, r := range p.rules {
		if r.audit {
			p.lastAudit = i
		}
		if r.sched != nil {
			p.scheduled = append(p.scheduled, r.sched)
		}
	}
	p.index()
	for _, b := range tests {
		if tc, ok := d.test(b, ruleAt); ok {
			p.tests = append(p.tests, tc)
		}
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func (d *decoder) rule(b *hcl.Block) (rule, bool) {
	r := rule{name: b.Labels[0], pos: posString(d.file, b.DefRange.Start)}
	what := "rule " + quote(r.name)
	ok := true
	switch r.name {
	case "":
		d.errorf(b.LabelRanges[0], "a rule name must not be empty")
		ok = false
	case DefaultRule, InvalidIDRule:
		d.errorf(b.LabelRanges[0], "the rule name %q is reserved", r.name)
		ok = false
	}
	content, diags := b.Body.Content(ruleSchema)
	d.addHCL(diags)
	ok = ok && !diags.HasErrors()

	if a := content.Attributes["action"]; a == nil {
		d.errorf(b.DefRange, "%s: action is required (%q or %q)", what, ActionAllow, ActionDeny)
		ok = false
	} else if s, ok1 := d.str(a.Expr, what+": action"); !ok1 {
		ok = false
	} else if s == ActionAllow || s == ActionDeny {
		r.allow = s == ActionAllow
	} else {
		d.errorf(a.Expr.Range(), "%s: action must be %q or %q, not %q", what, ActionAllow, ActionDeny, s)
		ok = false
	}

	if a := content.Attributes["mode"]; a != nil {
		if s, ok1 := d.str(a.Expr, what+": mode"); !ok1 {
			ok = false
		} else if s == ModeEnforce || s == ModeAudit {
			r.audit = s == ModeAudit
		} else {
			d.errorf(a.Expr.Range(), "%s: mode must be %q or %q, not %q", what, ModeEnforce, ModeAudit, s)
			ok = false
		}
	}

	var ok1, ok2 bool
	r.from, ok1 = d.patterns(b, content.Attributes["from"], what+": from")
	r.to, ok2 = d.patterns(b, content.Attributes["to"], what+": to")
	ok = ok && ok1 && ok2

	if a := content.Attributes["ports"]; a != nil {
		elems, ok1 := d.list(a.Expr, what+": ports", "[8443]")
		if ok1 && len(elems) == 0 {
			d.errorf(a.Expr.Range(), "%s: ports must not be empty; omit it to match any port", what)
			ok1 = false
		}
		r.ports = []uint16{}
		for _, e := range elems {
			n, okp := d.integer(e, what+": port", 1, 65535)
			ok1 = ok1 && okp
			if okp && !slices.Contains(r.ports, uint16(n)) {
				r.ports = append(r.ports, uint16(n))
			}
		}
		slices.Sort(r.ports)
		ok = ok && ok1
	}

	for i, sb := range content.Blocks {
		if i > 0 {
			d.errorf(sb.DefRange, "%s: only one schedule block is allowed", what)
			ok = false
			continue
		}
		s, ok1 := d.schedule(sb, what+": schedule")
		r.sched = s
		ok = ok && ok1
	}
	return r, ok
}

// patterns decodes a required, non-empty list of patterns.
func (d *decoder) patterns(b *hcl.Block, a *hcl.Attribute, what string) ([]*pattern, bool) {
	if a == nil {
		d.errorf(b.DefRange, "%s is required, e.g. %s", what, patternExample)
		return nil, false
	}
	strs, rngs, ok := d.strList(a.Expr, what, patternExample)
	if ok && len(strs) == 0 {
		d.errorf(a.Expr.Range(), "%s must list at least one pattern", what)
		return nil, false
	}
	out := make([]*pattern, 0, len(strs))
	for i, s := range strs {
		p, err := compilePattern(s)
		if err != nil {
			d.errorf(rngs[i], "%s: %v", what, err)
			ok = false
			continue
		}
		out = append(out, p)
	}
	return out, ok
}

func (d *decoder) schedule(b *hcl.Block, what string) (*schedule, bool) {
	content, diags := b.Body.Content(scheduleSchema)
	d.addHCL(diags)
	ok := !diags.HasErrors()
	s := &schedule{days: allDays, loc: time.UTC, zone: "UTC"}
	days, hours := content.Attributes["days"], content.Attributes["hours"]
	if days == nil && hours == nil && ok {
		d.errorf(b.DefRange, "%s must set days or hours", what)
		ok = false
	}
	if days != nil {
		names, rngs, ok1 := d.strList(days.Expr, what+": days", `["mon", "tue"]`)
		if ok1 && len(names) == 0 {
			d.errorf(days.Expr.Range(), "%s: days must not be empty; omit it for every day", what)
			ok1 = false
		}
		s.days = 0
		for i, n := range names {
			wd, err := parseDay(n)
			if err != nil {
				d.errorf(rngs[i], "%s: %v", what, err)
				ok1 = false
				continue
			}
			s.days |= 1 << wd
		}
		ok = ok && ok1
	}
	if hours != nil {
		if h, ok1 := d.str(hours.Expr, what+": hours"); !ok1 {
			ok = false
		} else if start, end, err := parseHours(h); err != nil {
			d.errorf(hours.Expr.Range(), "%s: %v", what, err)
			ok = false
		} else {
			s.hasHours, s.start, s.end = true, start, end
		}
	}
	if a := content.Attributes["timezone"]; a != nil {
		if z, ok1 := d.str(a.Expr, what+": timezone"); !ok1 {
			ok = false
		} else if loc, err := d.zone(z); err != nil {
			d.errorf(a.Expr.Range(), "%s: %v", what, err)
			ok = false
		} else {
			s.loc, s.zone = loc, z
		}
	}
	return s, ok
}

// zone loads a time zone, once per name and Parse.
func (d *decoder) zone(name string) (*time.Location, error) {
	if loc, ok := d.zones[name]; ok {
		return loc, nil
	}
	loc, err := loadZone(name)
	if err != nil {
		return nil, err
	}
	if d.zones == nil {
		d.zones = map[string]*time.Location{}
	}
	d.zones[name] = loc
	return loc, nil
}
