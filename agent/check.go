package agent

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
	"github.com/ztunnel-dev/ztunnel/policy"
)

// Check loads everything Start would load (certificates against the bundle,
// the policy and its tests, gossip keys) without binding any port, and
// returns warnings and every problem found. `ztunnel validate` uses it.
func Check(cfg *config.Config) (warnings []string, err error) {
	var errs []error
	// Enrolled workloads get their certificates only when the agent runs,
	// so validate checks the others' files.
	static := *cfg
	static.Workloads = nil
	for _, w := range cfg.Workloads {
		if w.Enroll == nil {
			static.Workloads = append(static.Workloads, w)
		}
	}
	if _, err := newStore(&static, hclog.NewNullLogger()); err != nil {
		errs = append(errs, err)
	}
	if pol, err := loadPolicy(cfg); err != nil {
		errs = append(errs, err)
	} else {
		warnings = unreachableUpstreams(cfg, pol)
	}
	if cfg.Gossip != nil {
		if _, err := discovery.LoadKeyFile(cfg.Gossip.KeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	return warnings, errors.Join(errs...)
}

// unreachableUpstreams names the upstreams that pol denies whatever the
// port and time: usually a typo in an ID or a forgotten rule. The receiving
// agent may hold another policy, so this is a warning, not an error.
func unreachableUpstreams(cfg *config.Config, pol *policy.Policy) []string {
	var out []string
	for _, w := range cfg.Workloads {
		for _, u := range w.Upstreams {
			if !pol.MayAllow(w.ID, u.Target, u.Port) {
				on := "on every port"
				if u.Port != 0 {
					on = fmt.Sprintf("on port %d", u.Port)
				}
				out = append(out, fmt.Sprintf("upstream %q of workload %q: the policy denies %s -> %s %s at every time",
					u.Name, w.Name, w.ID, u.Target, on))
			}
		}
	}
	return out
}
