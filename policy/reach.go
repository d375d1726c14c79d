package policy

// MayAllow reports whether any request from `from` to `to` could be allowed
// at some port and time: an agent warns about an upstream that no policy
// could ever let through (a typo in an ID, or a forgotten rule). It is
// conservative: false only when the request is certainly always denied,
// either by an enforced deny rule with no ports and no schedule, or because
// no enforced allow rule matches and the default is deny.
func (p *Policy) MayAllow(from, to string) bool {
	if !validID(from) || !validID(to) {
		return false
	}
	allowed := p.defaultAllow
	for i := range p.rules {
		ru := &p.rules[i]
		if ru.audit || !anyMatch(ru.from, from) || !anyMatch(ru.to, to) {
			continue
		}
		if !ru.allow && ru.ports == nil && ru.sched == nil {
			return false
		}
		if ru.allow {
			allowed = true
		}
	}
	return allowed
}
