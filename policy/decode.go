package policy

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// problem is one diagnostic of a policy file.
type problem struct {
	pos  hcl.Pos
	file string
	msg  string
}

// decoder turns HCL attributes into Go values and collects every problem,
// so that a file is reported in full rather than one mistake at a time.
type decoder struct {
	file  string
	probs []problem
	zones map[string]*time.Location // loaded once per Parse: loading is slow
}

func (d *decoder) errorf(rng hcl.Range, format string, args ...any) {
	file := rng.Filename
	if file == "" {
		file = d.file
	}
	d.probs = append(d.probs, problem{pos: rng.Start, file: file, msg: fmt.Sprintf(format, args...)})
}

// addHCL records HCL's own diagnostics, each with its position. hcl's
// Diagnostics.Error shows only the first; we keep them all.
func (d *decoder) addHCL(diags hcl.Diagnostics) {
	for _, diag := range diags {
		if diag.Severity != hcl.DiagError {
			continue
		}
		rng := hcl.Range{Filename: d.file, Start: hcl.InitialPos}
		if diag.Subject != nil {
			rng = *diag.Subject
		}
		msg := diag.Detail
		if msg == "" {
			msg = diag.Summary
		}
		d.errorf(rng, "%s", msg)
	}
}

// err returns a *LoadError with every problem sorted by position, or nil.
func (d *decoder) err() error {
	if len(d.probs) == 0 {
		return nil
	}
	sort.SliceStable(d.probs, func(i, j int) bool {
		a, b := d.probs[i].pos, d.probs[j].pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	out := make([]string, len(d.probs))
	for i, p := range d.probs {
		out[i] = posString(p.file, p.pos) + ": " + p.msg
	}
	return &LoadError{Problems: out}
}

func posString(file string, pos hcl.Pos) string {
	return file + ":" + strconv.Itoa(pos.Line) + ":" + strconv.Itoa(pos.Column)
}

func quote(s string) string { return strconv.Quote(s) }

// value evaluates a constant expression: no variables, no functions.
func (d *decoder) value(expr hcl.Expression) (cty.Value, bool) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		d.addHCL(diags)
		return cty.NilVal, false
	}
	return v, true
}

// str decodes a string attribute; what names it in messages.
func (d *decoder) str(expr hcl.Expression, what string) (string, bool) {
	v, ok := d.value(expr)
	if !ok {
		return "", false
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		d.errorf(expr.Range(), "%s must be a string", what)
		return "", false
	}
	return v.AsString(), true
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(expr hcl.Expression, what string, lo, hi int) (int, bool) {
	v, ok := d.value(expr)
	if !ok {
		return 0, false
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.Number {
		d.errorf(expr.Range(), "%s must be a number", what)
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() && !bf.IsInf() { // a literal beyond big.Float's exponent is ±Inf
		d.errorf(expr.Range(), "%s must be a whole number, not %s", what, numberText(bf))
		return 0, false
	}
	if bf.Cmp(big.NewFloat(float64(lo))) < 0 || bf.Cmp(big.NewFloat(float64(hi))) > 0 {
		d.errorf(expr.Range(), "%s %s is out of range (%d-%d)", what, numberText(bf), lo, hi)
		return 0, false
	}
	i, _ := bf.Int64()
	return int(i), true
}

// numberText formats x for a message in a few characters: exactly when it
// is an integer of at most 15 digits, else in %g form with at most 6
// significant digits ("1e+10000000"). It never expands x in full: the
// literal 1e10000000 has ten million digits, and big.Float.Text would
// take seconds to build them (and the message would be 10 MB).
func numberText(x *big.Float) string {
	if x.IsInf() {
		if x.Sign() < 0 {
			return "-infinity"
		}
		return "infinity"
	}
	if x.IsInt() && x.MantExp(nil) < 63 { // |x| < 2^62: fits an int64
		if i, _ := x.Int64(); i > -1e15 && i < 1e15 {
			return strconv.FormatInt(i, 10)
		}
	}
	if f, _ := x.Float64(); x.Sign() == 0 || (f != 0 && !math.IsInf(f, 0)) {
		return strconv.FormatFloat(f, 'g', 6, 64)
	}
	// Beyond float64: x = m × 2^e with 0.5 <= |m| < 1, so
	// log10|x| = log10|m| + e·log10(2). float64 keeps the leading digits
	// right for any exponent a big.Float can hold.
	var m big.Float
	e := x.MantExp(&m)
	mf, _ := m.Float64()
	l := math.Log10(math.Abs(mf)) + float64(e)*math.Log10(2)
	e10 := math.Floor(l)
	lead := strconv.FormatFloat(math.Pow(10, l-e10), 'g', 3, 64)
	if lead == "10" { // 9.995 and above round up
		lead, e10 = "1", e10+1
	}
	sign := ""
	if x.Sign() < 0 {
		sign = "-"
	}
	return fmt.Sprintf("%s%se%+d", sign, lead, int64(e10))
}

// list returns the element expressions of a list attribute.
func (d *decoder) list(expr hcl.Expression, what, example string) ([]hcl.Expression, bool) {
	elems, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		d.errorf(expr.Range(), "%s must be a list, e.g. %s", what, example)
		return nil, false
	}
	return elems, true
}

// strList decodes a list of strings; every bad element is reported.
func (d *decoder) strList(expr hcl.Expression, what, example string) ([]string, []hcl.Range, bool) {
	elems, ok := d.list(expr, what, example)
	if !ok {
		return nil, nil, false
	}
	out := make([]string, 0, len(elems))
	rngs := make([]hcl.Range, 0, len(elems))
	for _, e := range elems {
		s, ok1 := d.str(e, what+": each entry")
		if !ok1 {
			ok = false
			continue
		}
		out = append(out, s)
		rngs = append(rngs, e.Range())
	}
	return out, rngs, ok
}
