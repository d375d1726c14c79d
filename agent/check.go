package agent

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
)

// Check loads everything Start would load (certificates against the bundle,
// the policy and its tests, gossip keys) without binding any port, and
// returns every problem found. `ztunnel validate` uses it.
func Check(cfg *config.Config) error {
	var errs []error
	enroll := false
	for _, w := range cfg.Workloads {
		if w.Enroll != nil {
			enroll = true
			errs = append(errs, fmt.Errorf("workload %q: enroll blocks are not supported yet; give cert and key files", w.Name))
		}
	}
	if !enroll {
		if _, err := newStore(cfg, hclog.NewNullLogger()); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := loadPolicy(cfg); err != nil {
		errs = append(errs, err)
	}
	if cfg.Gossip != nil {
		if _, err := discovery.LoadKeyFile(cfg.Gossip.KeyFile); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
