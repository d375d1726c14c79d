package config

import (
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// decoder fills the file structs of hclfile.go from an hclsyntax body. It
// is hcl's low-level API rather than gohcl because every value needs its
// own range and every mistake its own one-sentence message.
type decoder struct {
	p *problems
}

var (
	rangeType       = reflect.TypeFor[hcl.Range]()
	attrStringType  = reflect.TypeFor[attrString]()
	attrIntType     = reflect.TypeFor[attrInt]()
	attrBoolType    = reflect.TypeFor[attrBool]()
	attrStringsType = reflect.TypeFor[attrStrings]()
)

// field is one tagged field of a file struct.
type field struct {
	index int
	name  string
	kind  string // "attr", "block", "label", "range"
}

func fieldsOf(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		if kind == "" {
			kind = "attr"
		}
		fs = append(fs, field{index: i, name: name, kind: kind})
	}
	return fs
}

// body decodes b into dst (a pointer to a file struct). path is the dotted
// name of the block, "" at the top level.
func (d *decoder) body(b *hclsyntax.Body, path string, dst reflect.Value) {
	v := dst.Elem()
	fs := fieldsOf(v.Type())
	attrs := map[string]field{}
	blocks := map[string]field{}
	for _, f := range fs {
		switch f.kind {
		case "attr":
			attrs[f.name] = f
		case "block":
			blocks[f.name] = f
		}
	}

	// Attributes are a map in hclsyntax; walk them in file order so that
	// problems at one position come out in a stable order.
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return b.Attributes[names[i]].SrcRange.Start.Byte < b.Attributes[names[j]].SrcRange.Start.Byte
	})
	for _, n := range names {
		a := b.Attributes[n]
		key := join(path, n)
		f, ok := attrs[n]
		if !ok {
			if _, isBlock := blocks[n]; isBlock {
				d.p.add(a.NameRange, "%s: is a block, not a key (write %s { ... })", key, n)
				continue
			}
			d.p.add(a.NameRange, "%s: unknown key%s", key, suggest(n, keys(attrs), path, "keys"))
			continue
		}
		d.attr(a, key, v.Field(f.index))
	}

	seen := map[string]hcl.Range{}
	for _, blk := range b.Blocks {
		key := join(path, blk.Type)
		f, ok := blocks[blk.Type]
		if !ok {
			if _, isAttr := attrs[blk.Type]; isAttr {
				d.p.add(blk.TypeRange, "%s: is a key, not a block (write %s = ...)", key, blk.Type)
				continue
			}
			d.p.add(blk.TypeRange, "%s: unknown block%s", key, suggest(blk.Type, keys(blocks), path, "blocks"))
			continue
		}
		fv := v.Field(f.index)
		var elem reflect.Value
		switch fv.Kind() {
		case reflect.Pointer:
			if first, dup := seen[blk.Type]; dup {
				d.p.add(blk.TypeRange, "%s: block is given twice (the first is at line %d); merge them into one", key, first.Start.Line)
				continue
			}
			seen[blk.Type] = blk.TypeRange
			elem = reflect.New(fv.Type().Elem())
		case reflect.Slice:
			elem = reflect.New(fv.Type().Elem())
		}
		if !d.labels(blk, key, elem.Elem()) {
			continue
		}
		name := key
		if len(blk.Labels) > 0 {
			name = join(key, blk.Labels[0])
		}
		d.body(blk.Body, name, elem)
		if fv.Kind() == reflect.Pointer {
			fv.Set(elem)
		} else {
			fv.Set(reflect.Append(fv, elem.Elem()))
		}
	}
}

// labels checks blk's label count against the struct and fills the label
// and range fields. It reports false when the block must be skipped.
func (d *decoder) labels(blk *hclsyntax.Block, key string, v reflect.Value) bool {
	var labelFields []field
	for _, f := range fieldsOf(v.Type()) {
		switch f.kind {
		case "label":
			labelFields = append(labelFields, f)
		case "range":
			v.Field(f.index).Set(reflect.ValueOf(blk.TypeRange))
		}
	}
	switch {
	case len(labelFields) == 1 && len(blk.Labels) != 1:
		d.p.add(blk.TypeRange, "%s: block needs one name (write %s \"name\" { ... })", key, blk.Type)
		return false
	case len(labelFields) == 0 && len(blk.Labels) != 0:
		d.p.add(blk.LabelRanges[0], "%s: block takes no name (write %s { ... })", key, blk.Type)
		return false
	}
	for i, f := range labelFields {
		v.Field(f.index).Set(reflect.ValueOf(attrString{Value: blk.Labels[i], Set: true, Range: blk.LabelRanges[i]}))
	}
	return true
}

// attr evaluates a's expression (constants only) into dst.
func (d *decoder) attr(a *hclsyntax.Attribute, key string, dst reflect.Value) {
	rng := a.Expr.Range()
	if !literal(a.Expr) {
		d.p.add(rng, "%s: must be a literal value, not an expression (the config has no variables, functions or interpolation)", key)
		return
	}
	val, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		d.p.add(rng, "%s: %s", key, strings.ToLower(strings.TrimSuffix(diags[0].Summary, ".")))
		return
	}
	if val.IsNull() {
		return // null means "not set"
	}
	switch dst.Type() {
	case attrStringType:
		s, ok := toString(val)
		if !ok {
			d.p.add(rng, "%s: must be a string, not %s", key, val.Type().FriendlyName())
			return
		}
		dst.Set(reflect.ValueOf(attrString{Value: s, Set: true, Range: rng}))
	case attrIntType:
		n, err := toInt(val)
		if err != "" {
			d.p.add(rng, "%s: %s", key, err)
			return
		}
		dst.Set(reflect.ValueOf(attrInt{Value: n, Set: true, Range: rng}))
	case attrBoolType:
		c, err := convert.Convert(val, cty.Bool)
		if err != nil || c.IsNull() {
			d.p.add(rng, "%s: must be true or false, not %s", key, describe(val))
			return
		}
		dst.Set(reflect.ValueOf(attrBool{Value: c.True(), Set: true, Range: rng}))
	case attrStringsType:
		ty := val.Type()
		if !ty.IsTupleType() && !ty.IsListType() && !ty.IsSetType() {
			d.p.add(rng, "%s: must be a list of strings, like [\"a\", \"b\"], not %s", key, ty.FriendlyName())
			return
		}
		out := attrStrings{Set: true, Range: rng, Values: []string{}, Ranges: []hcl.Range{}}
		var elems []hclsyntax.Expression
		if t, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
			elems = t.Exprs
		}
		i := 0
		for it := val.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			er := rng
			if i < len(elems) {
				er = elems[i].Range()
			}
			s, ok := toString(ev)
			if !ok {
				d.p.add(er, "%s[%d]: must be a string, not %s", key, i, ev.Type().FriendlyName())
				continue
			}
			out.Values = append(out.Values, s)
			out.Ranges = append(out.Ranges, er)
		}
		dst.Set(reflect.ValueOf(out))
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %s", key, dst.Type()))
	}
}

// literal reports whether e is a literal: a number, bool, null or string
// without interpolation, a negated number, or a list of literals. Allowing
// nothing else keeps evaluation cheap and the file free of computation.
func literal(e hclsyntax.Expression) bool {
	switch e := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return true
	case *hclsyntax.TemplateExpr:
		return e.IsStringLiteral()
	case *hclsyntax.UnaryOpExpr:
		_, ok := e.Val.(*hclsyntax.LiteralValueExpr)
		return ok && e.Op == hclsyntax.OpNegate
	case *hclsyntax.TupleConsExpr:
		for _, x := range e.Exprs {
			if !literal(x) {
				return false
			}
		}
		return true
	}
	return false
}

func toString(v cty.Value) (string, bool) {
	if extreme(v) {
		return "", false
	}
	c, err := convert.Convert(v, cty.String)
	if err != nil || c.IsNull() || !c.IsKnown() {
		return "", false
	}
	return c.AsString(), true
}

// toInt converts v to an int; the second result is the problem, if any.
func toInt(v cty.Value) (int, string) {
	c, err := convert.Convert(v, cty.Number)
	if err != nil || c.IsNull() || !c.IsKnown() {
		return 0, fmt.Sprintf("must be a whole number, not %s", describe(v))
	}
	if extreme(c) {
		return 0, "is out of range; expected a small whole number"
	}
	bf := c.AsBigFloat()
	if !bf.IsInt() {
		return 0, fmt.Sprintf("must be a whole number, not %s", bf.Text('g', -1))
	}
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31-1 || i < -(1<<31) {
		return 0, fmt.Sprintf("%s is out of range", bf.Text('g', -1))
	}
	return int(i), ""
}

// extreme reports whether v is a number so large or so small that turning
// it into decimal text would take seconds (1e999999): no config value is.
func extreme(v cty.Value) bool {
	if v.Type() != cty.Number || v.IsNull() || !v.IsKnown() {
		return false
	}
	exp := v.AsBigFloat().MantExp(nil)
	return exp > 256 || exp < -256
}

// describe renders a value for a message: strings quoted, others by type.
func describe(v cty.Value) string {
	if v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		return fmt.Sprintf("%q", v.AsString())
	}
	return v.Type().FriendlyName()
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func keys(m map[string]field) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest names the closest known name when there is a likely typo, else
// lists the known names. parent and what ("keys", "blocks") word the case
// where there are none.
func suggest(name string, known []string, parent, what string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) == 0 {
		return fmt.Sprintf(" (%s has no %s)", parent, what)
	}
	return " (expected one of: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
