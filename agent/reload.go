package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
)

// ReloadStatus is the outcome of the last reload (or of the start).
type ReloadStatus struct {
	Source string    `json:"source"` // start | signal | api | file
	At     time.Time `json:"at"`
	OK     bool      `json:"ok"`
	Error  string    `json:"error,omitempty"`
}

// Reload re-reads the config file, certificates, bundle, CRLs, policy and
// gossip keys, and applies what is valid: each part keeps its old state when
// its new files are broken, and the returned error says which and why.
// After a reload every live stream is checked again, so a stream the new
// policy denies, or whose peer is now revoked, is cut. source names the
// trigger ("signal", "api", "file") for logs and status.
func (a *Agent) Reload(source string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	_ = a.notify.Notify("RELOADING=1")
	defer func() { _ = a.notify.Notify("READY=1") }()

	err := a.reload()
	a.setReloadStatus(source, err)
	a.metrics.reload(source, err)
	if err != nil {
		a.log.Error("reload failed, keeping the previous state where the new one is broken", "source", source, "error", err)
		return err
	}
	a.log.Info("reloaded", "source", source, "policy", a.policy.Load().Version())
	return nil
}

func (a *Agent) reload() error {
	old := a.cfg.Load()
	loaded, err := config.Load(old.File)
	if err != nil {
		return fmt.Errorf("config not reloaded: %w", err)
	}
	cfg := withEnrollPaths(loaded)
	for _, w := range cfg.Workloads {
		if _, enrolled := a.enrollers[w.Name]; (w.Enroll != nil) != enrolled {
			return fmt.Errorf("config not reloaded: workload %q: adding or removing an enroll block needs a restart", w.Name)
		}
	}
	if cfg.Tunnel.Listen != old.Tunnel.Listen || cfg.Admin.Listen != old.Admin.Listen ||
		(cfg.Gossip == nil) != (old.Gossip == nil) {
		// Rebinding the tunnel or admin port, or turning gossip on or off,
		// would drop connections or change who we talk to: it needs a restart.
		return errors.New("config not reloaded: tunnel.listen, admin.listen and the presence of the gossip block change only with a restart")
	}
	var errs []error
	a.log.SetLevel(hclogLevel(cfg.LogLevel))
	if a.opts.SetProcs {
		applyProcs(cfg.MaxProcs, a.log, false)
	}

	// Identity: same files -> re-read in place (each source keeps its old
	// pair on error); new workloads or trust settings -> build a new store
	// and swap it only when it loads completely.
	if sameIdentityShape(old, cfg) {
		if _, err := a.store.Load().Reload(); err != nil {
			errs = append(errs, err)
		}
	} else if store, err := newStore(cfg, a.log.Named("identity")); err != nil {
		errs = append(errs, fmt.Errorf("identity not reloaded: %w", err))
		cfg = old // the new workloads cannot be served without their certificates
	} else {
		a.store.Store(store)
	}

	if pol, err := loadPolicy(cfg); err != nil {
		errs = append(errs, fmt.Errorf("policy not reloaded, the previous one stays in force: %w", err))
	} else if pol.Version() != a.policy.Load().Version() {
		a.setPolicy(pol)
		a.log.Info("policy loaded", "file", cfg.Policy.File, "version", pol.Version())
		for _, w := range unreachableUpstreams(cfg, pol) {
			a.log.Warn(w)
		}
	}

	if cfg != old {
		ups, exps := routes(cfg)
		if err := a.tun.Update(ups, exps); err != nil {
			errs = append(errs, err)
		}
		a.static.Set(staticPeers(cfg))
		if a.gossip != nil {
			if err := a.gossip.SetLocal(advertisedTunnel(cfg, a.tun.Addr()), localWorkloads(cfg)); err != nil {
				errs = append(errs, fmt.Errorf("gossip catalog not updated: %w", err))
			}
		}
		a.cfg.Store(cfg)
	}
	if a.gossip != nil {
		if keys, err := discovery.LoadKeyFile(cfg.Gossip.KeyFile); err != nil {
			errs = append(errs, fmt.Errorf("gossip keys not reloaded: %w", err))
		} else if err := a.gossip.SetKeys(keys); err != nil {
			errs = append(errs, fmt.Errorf("gossip keys not reloaded: %w", err))
		}
	}

	select {
	case a.certCheck <- struct{}{}:
	default:
	}
	if cut := a.tun.Recheck(); cut > 0 {
		a.log.Info("streams cut after reload", "count", cut)
	}
	return errors.Join(errs...)
}

func (a *Agent) setReloadStatus(source string, err error) {
	st := &ReloadStatus{Source: source, At: time.Now().UTC(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
	}
	a.lastReload.Store(st)
}
