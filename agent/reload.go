package agent

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
// its new files are broken, and the returned error says which and why. The
// config itself is applied whole or not at all: when a new workload's
// certificate cannot be loaded or a new listener cannot be bound, the old
// workloads, routes and static peers stay in force (applyConfig).
// After a reload every live stream is checked again, so a stream the new
// policy denies, or whose peer is now revoked, is cut. source names the
// trigger ("signal", "api", "file") for logs and status.
func (a *Agent) Reload(source string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	_ = a.notify.Notify("RELOADING=1")
	defer func() { _ = a.notify.Notify("READY=1") }()

	before := fileStamps(a.cfg.Load())
	err := a.reload()
	a.noteFiles(before)
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
	if keys := restartOnlyChanges(old, cfg); len(keys) > 0 {
		// Rebinding a port, turning gossip on or off, or changing a limit
		// the running data plane was built with would drop connections or
		// silently not apply: it needs a restart, and the reload says so
		// rather than half-applying the file.
		return fmt.Errorf("config not reloaded: %s changed, which takes effect only with a restart (systemctl restart ztunnel); undo it to reload the rest", strings.Join(keys, ", "))
	}
	var errs []error
	cfg, err = a.applyConfig(old, cfg)
	if err != nil {
		errs = append(errs, err)
	}
	// From here cfg is the config in force: the new one, or the old one
	// when the new one could not be applied as a whole.
	a.log.SetLevel(hclogLevel(cfg.LogLevel))
	if a.opts.SetProcs {
		applyProcs(cfg.MaxProcs, a.log, false)
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

// applyConfig puts cfg in force in place of old and returns the config in
// force afterwards. The workloads, their certificates, listeners and routes,
// and the static peers change together or not at all (DESIGN §9: a reload
// that fails keeps the previous state): when the new identity store cannot
// be built or a listener cannot be bound, nothing of cfg is applied and it
// returns old with an error naming the problem. The files of the identity
// store in force are re-read in place either way; each keeps its old
// contents when its new one is broken.
func (a *Agent) applyConfig(old, cfg *config.Config) (*config.Config, error) {
	var errs []error
	oldStore := a.store.Load()
	reread := func() {
		if _, err := oldStore.Reload(); err != nil {
			errs = append(errs, err)
		}
	}
	var refused error
	if sameIdentityShape(old, cfg) {
		reread()
		refused = a.tun.Update(routes(cfg))
	} else if store, err := newStore(cfg, a.log.Named("identity")); err != nil {
		// The new workloads cannot be served without their certificates.
		refused = fmt.Errorf("identity: %w", err)
		reread()
	} else {
		// Swapped before the tunnel update so that a new upstream or expose
		// has its certificate from its first connection.
		a.store.Store(store)
		if refused = a.tun.Update(routes(cfg)); refused != nil {
			// Update changed nothing: put the old store back so that
			// status and /readyz describe the old workloads only.
			a.store.Store(oldStore)
			reread()
		}
	}
	if refused != nil {
		refused = placeListenError(cfg, refused)
		errs = append(errs, fmt.Errorf("config not applied, the previous one stays in force: %w", refused))
		return old, errors.Join(errs...)
	}
	a.static.Set(staticPeers(cfg))
	a.cfg.Store(cfg)
	if err := a.announce(cfg); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

func (a *Agent) setReloadStatus(source string, err error) {
	st := &ReloadStatus{Source: source, At: time.Now().UTC(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
	}
	a.lastReload.Store(st)
}

// restartOnlyChanges lists the settings that differ between old and cfg
// and that a running agent cannot change.
func restartOnlyChanges(old, cfg *config.Config) []string {
	var keys []string
	diff := func(key string, changed bool) {
		if changed {
			keys = append(keys, key)
		}
	}
	diff("node_name", old.NodeName != cfg.NodeName)
	diff("data_dir", old.DataDir != cfg.DataDir)
	diff("log_format", old.LogFormat != cfg.LogFormat)
	ot, nt := old.Tunnel, cfg.Tunnel
	ot.Advertise, nt.Advertise = "", "" // told to gossip again on reload
	diff("tunnel.listen", ot.Listen != nt.Listen)
	ot.Listen, nt.Listen = "", ""
	diff("tunnel limits or timeouts", ot != nt)
	diff("admin.listen", old.Admin.Listen != cfg.Admin.Listen)
	diff("admin.pprof", old.Admin.Pprof != cfg.Admin.Pprof)
	diff("admin.metrics_listen", old.Admin.MetricsListen != cfg.Admin.MetricsListen)
	// An enrolled workload's client runs from start to stop with the
	// server, token and ID it began with.
	enrolled := map[string]config.Workload{}
	for _, w := range cfg.Workloads {
		enrolled[w.Name] = w
	}
	for _, ow := range old.Workloads {
		if ow.Enroll == nil {
			continue
		}
		nw, ok := enrolled[ow.Name]
		diff("workload."+ow.Name+".enroll", !ok || nw.Enroll == nil || *nw.Enroll != *ow.Enroll || nw.ID != ow.ID)
	}
	switch og, ng := old.Gossip, cfg.Gossip; {
	case (og == nil) != (ng == nil):
		keys = append(keys, "the presence of the gossip block")
	case og != nil:
		diff("gossip.listen", og.Listen != ng.Listen)
		diff("gossip.advertise", og.Advertise != ng.Advertise)
		diff("gossip.join", !slices.Equal(og.Join, ng.Join))
	}
	return keys
}
