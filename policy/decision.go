package policy

import "time"

// Request is one question to the policy: may From reach To on Port at At?
// From and To are SPIFFE IDs in their string form. Port 0 means the port is
// not known to the asker (a sending agent whose upstream names no port); a
// rule with a ports list never matches port 0.
type Request struct {
	From string
	To   string
	Port int
	At   time.Time // zero means time.Now()
}

// Decision is the policy's answer. Rule names the rule that made it, or
// "default" when no enforced rule matched.
type Decision struct {
	Allow bool
	Rule  string
	// Audit lists the audit-mode rules that matched; they never change Allow.
	Audit []AuditHit
}

// AuditHit is an audit-mode rule that matched a request: it would have
// allowed (WouldAllow) or denied the request had it been enforced.
type AuditHit struct {
	Rule       string
	WouldAllow bool
}

// DefaultRule is the Rule of a Decision made by the policy's default.
const DefaultRule = "default"
