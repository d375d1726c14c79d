package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Load reads, parses and validates the agent config file at path, and
// checks that every file it names exists and is readable. On failure the
// error is a *LoadError listing every problem, each as
// "path:line:col: message". Problems that do not stop the agent (a private
// key readable by others, a guessed advertise address) are in
// Config.Warnings.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{
			Problems: []string{fmt.Sprintf("%s: cannot read the config file: %s", path, fsReason(err))},
			Err:      err,
		}
	}
	c, refs, p := parse(path, src)
	warnings := checkFiles(refs, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	c.Warnings = append(c.Warnings, warnings...)
	return c, nil
}

// Parse is Load from bytes without the file-system checks: it validates
// every value but does not look at the files the config names. filename is
// used in positions, and relative paths resolve against its folder (made
// absolute from the working directory when filename is relative).
func Parse(filename string, src []byte) (*Config, error) {
	c, _, p := parse(filename, src)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// fileRef is a file the config names, checked by Load.
type fileRef struct {
	path   string    // absolute
	key    string    // e.g. "trust.bundle"
	rng    hcl.Range // the value's range
	secret string    // what the file holds when it must be private, e.g. "private key"
	// optional files may be missing: the enroll token is needed only until
	// the first certificate is stored, and operators delete it after that.
	optional bool
}

// parse is Parse, also returning the files to check and the problems.
func parse(filename string, src []byte) (*Config, []fileRef, *problems) {
	p := &problems{file: filename}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// Later problems of a broken file are mostly echoes of the
		// syntax error: report only what the parser found.
		p.diags(diags)
		return nil, nil, p
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		p.add(hcl.Range{}, "the config file is not in HCL native syntax")
		return nil, nil, p
	}
	var fc fileConfig
	(&decoder{p: p}).body(body, "", reflect.ValueOf(&fc))

	abs, err := filepath.Abs(filename)
	if err != nil {
		p.add(hcl.Range{}, "cannot make the config file's path absolute: %v", err)
		return nil, nil, p
	}
	b := &builder{p: p, file: filename, dir: filepath.Dir(abs), listens: map[string]listenClaim{}, pos: map[string]string{}}
	c := b.build(&fc)
	c.File = abs
	c.positions = b.pos
	return c, b.refs, p
}

// checkFiles checks that each referenced file is a readable regular file,
// reporting problems at the attribute, and returns the warnings for secret
// files readable by other users.
func checkFiles(refs []fileRef, p *problems) []string {
	var warnings []string
	for _, r := range refs {
		fi, err := os.Stat(r.path)
		if r.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && fi.IsDir() {
			p.add(r.rng, "%s: %q is a directory; expected a file", r.key, r.path)
			continue
		}
		if err == nil {
			var fh *os.File
			if fh, err = os.Open(r.path); err == nil {
				fh.Close()
			}
		}
		if err != nil {
			p.add(r.rng, "%s: cannot read %q: %s", r.key, r.path, fsReason(err))
			continue
		}
		if mode := fi.Mode().Perm(); r.secret != "" && mode&0o044 != 0 {
			warnings = append(warnings, fmt.Sprintf("%s: %s is readable by other users (mode %04o); chmod 600 it", r.path, r.secret, mode))
		}
	}
	return warnings
}

// fsReason is the short reason of a file-system error, without the path
// that the message already names.
func fsReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
