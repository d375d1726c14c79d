package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// clock is the time source of a Request whose At is zero. Tests replace it
// to decide at fixed instants; nothing else writes it.
var clock = time.Now

// InvalidIDRule is the Rule of a Decision that denies a request whose From
// or To is not a valid SPIFFE workload ID. No rule may take this name.
const InvalidIDRule = "invalid-id"

// Action and mode names as written in a policy file.
const (
	ActionAllow = "allow"
	ActionDeny  = "deny"
	ModeEnforce = "enforce"
	ModeAudit   = "audit"
)

// Policy is a compiled policy file. It is immutable once built and safe for
// concurrent use; a reload builds a new Policy.
type Policy struct {
	source       string
	version      string
	defaultAllow bool
	rules        []rule
	lastAudit    int // index of the last audit rule, -1 when none
	// byTo and anyTo index the rules for Decide: byTo[id] lists, in file
	// order, the rules whose every `to` pattern is a literal ID and one of
	// them is id; anyTo lists the rules with a glob in `to`. A request for
	// To can only match a rule of byTo[To] or anyTo.
	byTo      map[string][]int32
	anyTo     []int32
	scheduled []*schedule
	tests     []testCase
}

// rule is one compiled rule block.
type rule struct {
	name  string
	pos   string // file:line:col of the block
	allow bool
	audit bool
	from  []*pattern
	to    []*pattern
	ports []uint16 // sorted; nil means any port
	sched *schedule
}

// RuleInfo describes one rule, for status output and metrics.
type RuleInfo struct {
	Name   string
	Action string // "allow" or "deny"
	Mode   string // "enforce" or "audit"
	Pos    string // file:line:col of the rule block
}

// Load reads, parses and validates the policy file at path, then runs its
// test blocks: a failing test makes the file a *LoadError naming the test.
// A file that cannot be read is a plain error, one sentence that wraps the
// cause (errors.Is(err, fs.ErrNotExist) holds for a missing file).
func Load(path string) (*Policy, error) {
	p, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	if problems := p.testProblems(); problems != nil {
		return nil, &LoadError{Problems: problems, TestsFailed: true}
	}
	return p, nil
}

func parseFile(path string) (*Policy, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		// The path is already in the message: keep only the cause ("no
		// such file or directory"), not the *PathError's "open path: ...".
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("policy: cannot read %q: %w", path, err)
	}
	return Parse(path, src)
}

// DenyAll returns the policy of an agent without a policy file: no rules,
// default deny.
func DenyAll() *Policy {
	return &Policy{version: versionOf(nil), lastAudit: -1}
}

func versionOf(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:6])
}

// Version is a short hash of the policy's source bytes: equal files give
// equal versions.
func (p *Policy) Version() string { return p.version }

// Source is the file name the policy was parsed from ("" for DenyAll).
func (p *Policy) Source() string { return p.source }

// Rules lists the rules in file order.
func (p *Policy) Rules() []RuleInfo {
	out := make([]RuleInfo, len(p.rules))
	for i, r := range p.rules {
		out[i] = RuleInfo{Name: r.name, Action: ActionDeny, Mode: ModeEnforce, Pos: r.pos}
		if r.allow {
			out[i].Action = ActionAllow
		}
		if r.audit {
			out[i].Mode = ModeAudit
		}
	}
	return out
}

// Decide answers r. It allocates nothing unless an audit rule matches, and
// reads the clock only when r.At is zero and a scheduled rule is reached.
func (p *Policy) Decide(r Request) Decision { return p.decide(r, false) }

// decide answers r. With anyTime it decides as if every schedule window
// were open, ignoring r.At and never reading the clock: that answers "may
// From ever reach To on Port?", the question of a test block without `at`.
func (p *Policy) decide(r Request, anyTime bool) Decision {
	if !validID(r.From) || !validID(r.To) {
		return Decision{Rule: InvalidIDRule}
	}
	var deny, allow *rule
	var audit []AuditHit
	// Walk byTo[To] and anyTo merged, so rules are seen in file order.
	lit, glob := p.byTo[r.To], p.anyTo
	for len(lit) > 0 || len(glob) > 0 {
		var i int
		if len(glob) == 0 || (len(lit) > 0 && lit[0] < glob[0]) {
			i, lit = int(lit[0]), lit[1:]
		} else {
			i, glob = int(glob[0]), glob[1:]
		}
		ru := &p.rules[i]
		if !ru.audit {
			if deny != nil {
				if i > p.lastAudit {
					break // nothing left can change the answer
				}
				continue
			}
			if ru.allow && allow != nil {
				continue
			}
		}
		if !ru.matches(&r, anyTime) {
			continue
		}
		switch {
		case ru.audit:
			audit = append(audit, AuditHit{Rule: ru.name, WouldAllow: ru.allow})
		case ru.allow:
			allow = ru
		default:
			deny = ru
		}
	}
	switch {
	case deny != nil:
		return Decision{Allow: false, Rule: deny.name, Audit: audit}
	case allow != nil:
		return Decision{Allow: true, Rule: allow.name, Audit: audit}
	}
	return Decision{Allow: p.defaultAllow, Rule: DefaultRule, Audit: audit}
}

// index builds byTo and anyTo from p.rules.
func (p *Policy) index() {
	p.byTo = map[string][]int32{}
	for i, r := range p.rules {
		literal := true
		for _, pt := range r.to {
			literal = literal && pt.exact
		}
		if !literal {
			p.anyTo = append(p.anyTo, int32(i))
			continue
		}
		for _, pt := range r.to {
			if l := p.byTo[pt.src]; len(l) == 0 || l[len(l)-1] != int32(i) {
				p.byTo[pt.src] = append(l, int32(i))
			}
		}
	}
}

// matches reports whether the rule applies to r. The cheap checks come
// first; r.At is filled from the clock on first need. With anyTime the
// rule's schedule, if any, counts as open.
func (ru *rule) matches(r *Request, anyTime bool) bool {
	if ru.ports != nil {
		if r.Port <= 0 || r.Port > 65535 {
			return false
		}
		if _, ok := slices.BinarySearch(ru.ports, uint16(r.Port)); !ok {
			return false
		}
	}
	if !anyMatch(ru.to, r.To) || !anyMatch(ru.from, r.From) {
		return false
	}
	if ru.sched != nil && !anyTime {
		if r.At.IsZero() {
			r.At = clock()
		}
		return ru.sched.active(r.At)
	}
	return true
}

func anyMatch(ps []*pattern, id string) bool {
	for _, p := range ps {
		if p.match(id) {
			return true
		}
	}
	return false
}

// nextChangeHorizon bounds NextChange's search: every schedule repeats
// weekly in wall-clock time, so a change exists within 8 days or never.
const nextChangeHorizon = 8 * 24 * time.Hour

// NextChange returns the earliest instant after t at which some schedule
// window opens or closes, or the zero Time if no rule has a schedule (or
// no schedule ever changes). The agent re-checks live streams then.
func (p *Policy) NextChange(t time.Time) time.Time {
	var best time.Time
	limit := t.Add(nextChangeHorizon)
	for _, s := range p.scheduled {
		if c := s.nextChange(t, limit); !c.IsZero() && (best.IsZero() || c.Before(best)) {
			best = c
			limit = c
		}
	}
	return best
}
