package policy

import "slices"

// MayAllow reports whether a request from `from` to `to` on port (0: any
// port) could be allowed at some time: an agent warns about an upstream
// that no policy could ever let through (a typo in an ID or a port, or a
// forgotten rule). It is conservative: false only when the request is
// certainly always denied, either by an enforced deny rule with no
// schedule that covers the port, or because no enforced allow rule
// matches and the default is deny.
func (p *Policy) MayAllow(from, to string, port int) bool {
	if !validID(from) || !validID(to) {
		return false
	}
	allowed := p.defaultAllow
	for i := range p.rules {
		ru := &p.rules[i]
		if ru.audit || !anyMatch(ru.from, from) || !anyMatch(ru.to, to) {
			continue
		}
		hasPort := port != 0 && ru.ports != nil && slices.Contains(ru.ports, uint16(port))
		if ru.ports != nil && port != 0 && !hasPort {
			continue // the rule is about other ports
		}
		if !ru.allow && ru.sched == nil && (ru.ports == nil || hasPort) {
			return false
		}
		if ru.allow {
			allowed = true
		}
	}
	return allowed
}
