package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// ErrInvalid is matched (errors.Is) by every *LoadError: the config file
// could not be read, or it has at least one problem.
var ErrInvalid = errors.New("config: invalid config file")

// LoadError is the error of Load and Parse. It lists every problem found in
// the file, in file order, each as "path:line:col: message" where message
// is one sentence naming the key, what is wrong and what is expected.
type LoadError struct {
	Problems []string
	// Err is the underlying error when the file itself could not be read
	// (for example fs.ErrNotExist); nil for problems in its content.
	Err error
}

// Error joins the problems with newlines.
func (e *LoadError) Error() string { return strings.Join(e.Problems, "\n") }

// Is reports whether target is ErrInvalid.
func (e *LoadError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the underlying read error, if any.
func (e *LoadError) Unwrap() error { return e.Err }

// problem is one finding at a position of the config file.
type problem struct {
	rng hcl.Range
	msg string
}

// problems collects findings; the zero value is ready to use.
type problems struct {
	file string // used for problems without a position
	list []problem
}

// add records a problem at r. The message is formatted like fmt.Sprintf.
func (p *problems) add(r hcl.Range, format string, args ...any) {
	p.list = append(p.list, problem{rng: r, msg: fmt.Sprintf(format, args...)})
}

// diags records every error diagnostic of an hcl parse, one per line: hcl's
// own Diagnostics.Error() shows only the first.
func (p *problems) diags(ds hcl.Diagnostics) {
	for _, d := range ds {
		if d.Severity != hcl.DiagError {
			continue
		}
		r := hcl.Range{}
		if d.Subject != nil {
			r = *d.Subject
		}
		// hcl's details run to several sentences; the first says what
		// is wrong, the rest is advice that does not fit on one line.
		msg := strings.TrimSuffix(d.Summary, ".")
		if detail, _, _ := strings.Cut(d.Detail, ". "); detail != "" {
			msg += ": " + strings.TrimSuffix(lowerFirst(detail), ".")
		}
		p.add(r, "%s", msg)
	}
}

// err returns nil when there are no problems, else a *LoadError with the
// problems sorted by position (stable, so one position keeps its order).
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i].rng, p.list[j].rng
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Start.Line != b.Start.Line {
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
	out := make([]string, len(p.list))
	for i, pr := range p.list {
		if pr.rng.Filename == "" {
			pr.rng.Filename = p.file
		}
		out[i] = fmt.Sprintf("%s:%d:%d: %s", pr.rng.Filename, max(pr.rng.Start.Line, 1), max(pr.rng.Start.Column, 1), pr.msg)
	}
	return &LoadError{Problems: out}
}

func lowerFirst(s string) string {
	if s == "" || len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z' {
		return s // keep acronyms like "HCL"
	}
	if s[0] >= 'A' && s[0] <= 'Z' {
		return string(s[0]+'a'-'A') + s[1:]
	}
	return s
}
