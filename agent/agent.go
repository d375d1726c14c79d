package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/admin"
	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/discovery"
	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/enroll"
	"github.com/ztunnel-dev/ztunnel/policy"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

// Options are the agent's process-level settings, apart from its config.
type Options struct {
	// LogOutput receives the logs; nil = os.Stderr.
	LogOutput io.Writer
	// Version is reported by the status API.
	Version string
	// SetProcs makes the agent set the process's GOMAXPROCS from max_procs
	// at Start and on each reload (the daemon does; agents run inside
	// tests leave the process alone).
	SetProcs bool
}

// Agent is one running daemon. New has no side effects; Start brings it up;
// Reload may be called any number of times from any goroutine (calls are
// serialised); Shutdown drains it; Close stops it at once. Close is
// idempotent.
type Agent struct {
	opts   Options
	log    hclog.Logger
	notify *notifier

	cfg    atomic.Pointer[config.Config]
	store  atomic.Pointer[identity.Store]
	policy atomic.Pointer[policy.Policy]

	tun      *tunnel.Tunnel
	static   *discovery.Static
	resolver atomic.Pointer[resolverBox] // static + gossip, set once gossip runs
	gossip   *discovery.Gossip
	// announced is what gossip was last told this node serves (announce).
	// seenFiles: the files the config in force reads, as the last reload
	// (or the start) saw them; watchFiles reloads when they differ.
	seenFiles  atomic.Pointer[map[string]fileStamp]
	announceMu sync.Mutex
	announced  string
	admin      *admin.Server
	metrics    *metrics

	started    time.Time
	ready      atomic.Bool
	reloadMu   sync.Mutex // serialises Reload
	lastReload atomic.Pointer[ReloadStatus]
	policyAt   atomic.Pointer[time.Time]

	stop      chan struct{} // closed by Close/Shutdown: ends background loops
	fatal     chan error    // buffered 1: the first fatal runtime error (Fatal)
	certCheck chan struct{} // a reload asks watchCerts to look again
	policyNew chan struct{} // setPolicy asks watchSchedule to look again
	stopOnce  sync.Once
	closeOnce sync.Once
	// enrollers renew enrolled workloads' certificates, by workload name;
	// written only by Start, before any reader runs.
	enrollers map[string]*enroll.Client
	wg        sync.WaitGroup
}

// New returns an agent for cfg. It reads no file and binds nothing.
func New(cfg *config.Config, opts Options) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("agent: no config")
	}
	a := &Agent{
		opts:      opts,
		log:       NewLogger(opts.LogOutput, cfg.LogLevel, cfg.LogFormat),
		notify:    newNotifier(),
		stop:      make(chan struct{}),
		fatal:     make(chan error, 1),
		certCheck: make(chan struct{}, 1),
		policyNew: make(chan struct{}, 1),
		enrollers: map[string]*enroll.Client{},
	}
	a.cfg.Store(withEnrollPaths(cfg))
	a.metrics = newMetrics(a)
	return a, nil
}

// Logger is the agent's root logger.
func (a *Agent) Logger() hclog.Logger { return a.log }

// Config is the config in force: the one given to New, or the last one a
// reload applied. The caller must not modify it.
func (a *Agent) Config() *config.Config { return a.cfg.Load() }

// Fatal delivers the first fatal runtime error: a component the agent needs
// stopped on its own (today: the admin API's listener failed). The agent
// does not log it or stop itself; the owner of the process does both
// (`ztunnel agent` closes the agent and exits 2). At most one error is
// delivered; later ones are dropped.
func (a *Agent) Fatal() <-chan error { return a.fatal }

// fail reports err on Fatal unless an earlier error waits there.
func (a *Agent) fail(err error) {
	select {
	case a.fatal <- err:
	default:
	}
}

// Start brings the agent up in the order of DESIGN §9: identity (fail fast
// on bad certificates), policy, tunnel and upstream listeners, admin API,
// gossip, then ready. On any error it stops what it started and returns one
// sentence naming the problem.
func (a *Agent) Start(ctx context.Context) error {
	cfg := a.cfg.Load()
	a.started = time.Now()
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	a.log.Info("starting", "node", cfg.NodeName, "version", a.opts.Version, "config", cfg.File,
		"revocation", cfg.Trust.Revocation)
	if a.opts.SetProcs {
		applyProcs(cfg.MaxProcs, a.log, true)
	}

	if err := a.startEnrollment(ctx, cfg); err != nil {
		return err
	}
	store, err := newStore(cfg, a.log.Named("identity"))
	if err != nil {
		return err
	}
	a.store.Store(store)

	pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	if cfg.Policy.File == "" {
		a.log.Warn("no policy block: every stream is denied")
	}
	a.setPolicy(pol)
	for _, w := range unreachableUpstreams(cfg, pol) {
		a.log.Warn(w)
	}

	a.static = discovery.NewStatic(staticPeers(cfg))
	tcfg := tunnelConfig(cfg)
	tcfg.TLS = storeTLS{a}
	tcfg.Resolver = resolverFunc(a.resolve)
	tcfg.Authorize = a.authorize
	tcfg.Logger = a.log.Named("tunnel")
	tcfg.Metrics = a.metrics
	tun, err := tunnel.New(tcfg)
	if err != nil {
		return err
	}
	if err := tun.Start(); err != nil {
		return placeListenError(cfg, err)
	}
	a.tun = tun

	if cfg.Gossip != nil {
		// Built after the tunnel is bound: with tunnel.listen on port 0
		// (tests) only the bound port is worth advertising.
		g, err := newGossip(cfg, advertisedTunnel(cfg, tun.Addr()), a.log.Named("gossip"))
		if err != nil {
			a.Close()
			return err
		}
		a.gossip = g
		a.announced = announcement(advertisedTunnel(cfg, tun.Addr()), localWorkloads(cfg, nil))
		a.resolver.Store(&resolverBox{discovery.Multi(a.static, g)})
	}

	adm, err := admin.New(admin.Config{
		Listen:        cfg.Admin.Listen,
		Pprof:         cfg.Admin.Pprof,
		MetricsListen: cfg.Admin.MetricsListen,
		Backend:       backend{a},
		Metrics:       a.metrics.handler(),
		Logger:        a.log.Named("admin"),
		Stopped:       a.fail,
	})
	if err != nil {
		a.Close()
		return err
	}
	if err := adm.Start(); err != nil {
		a.Close()
		return placeListenError(cfg, err)
	}
	a.admin = adm

	if a.gossip != nil {
		if err := a.gossip.Start(ctx); err != nil {
			a.Close()
			if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EADDRNOTAVAIL) {
				return listenProblem(cfg, "gossip.listen", cfg.Gossip.Listen, err)
			}
			return err
		}
		a.wg.Add(1)
		go a.watchMembers()
	}

	a.noteFiles(fileStamps(cfg))
	a.wg.Add(3)
	go a.watchFiles()
	go a.watchSchedule()
	go a.watchCerts()
	if iv := watchdogInterval(); iv > 0 {
		a.wg.Add(1)
		go a.watchdog(iv)
	}

	a.runEnrollment()
	a.ready.Store(true)
	a.setReloadStatus("start", nil)
	if err := a.notify.Notify("READY=1"); err != nil {
		a.log.Warn("systemd notify failed", "error", err)
	}
	// Addresses as strings: hclog's JSON format would print a *net.TCPAddr
	// as an object.
	if m := adm.MetricsAddr(); m != nil {
		a.log.Info("metrics listener serving /metrics, /healthz and /readyz", "address", addrString(m))
	}
	a.log.Info("ready", "tunnel", addrString(tun.Addr()), "admin", addrString(adm.Addr()), "workloads", len(cfg.Workloads))
	return nil
}

// TunnelAddr is the bound inbound tunnel address (nil before Start).
func (a *Agent) TunnelAddr() net.Addr {
	if a.tun == nil {
		return nil
	}
	return a.tun.Addr()
}

// AdminAddr is the bound admin address (nil before Start).
func (a *Agent) AdminAddr() net.Addr {
	if a.admin == nil {
		return nil
	}
	return a.admin.Addr()
}

// MetricsAddr is the bound address of admin.metrics_listen (nil without
// one or before Start).
func (a *Agent) MetricsAddr() net.Addr {
	if a.admin == nil {
		return nil
	}
	return a.admin.MetricsAddr()
}

// UpstreamAddr is the bound address of workload's upstream name.
func (a *Agent) UpstreamAddr(workloadID, name string) net.Addr {
	if a.tun == nil {
		return nil
	}
	return a.tun.UpstreamAddr(workloadID, name)
}

// Shutdown drains the agent (DESIGN §9): not ready, leave gossip, stop
// accepting, let open streams finish until ctx is done, then cut the rest.
// It returns how many streams had to be cut.
func (a *Agent) Shutdown(ctx context.Context) (cut int, err error) {
	a.ready.Store(false)
	_ = a.notify.Notify("STOPPING=1")
	a.log.Info("draining")
	a.stopLoops()
	if a.gossip != nil {
		if err := a.gossip.Leave(2 * time.Second); err != nil {
			a.log.Warn("gossip leave failed", "error", err)
		}
	}
	if a.tun != nil {
		cut, err = a.tun.Shutdown(ctx)
	}
	a.Close()
	if cut > 0 {
		a.log.Warn("drain timeout: streams cut", "count", cut)
	} else {
		a.log.Info("stopped")
	}
	return cut, err
}

// Close stops every component at once. Idempotent.
func (a *Agent) Close() error {
	a.closeOnce.Do(func() {
		a.ready.Store(false)
		a.stopLoops()
		if a.tun != nil {
			_ = a.tun.Close()
		}
		if a.gossip != nil {
			_ = a.gossip.Shutdown()
		}
		if a.admin != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = a.admin.Close(ctx)
			cancel()
		}
		a.wg.Wait()
	})
	return nil
}

func (a *Agent) stopLoops() { a.stopOnce.Do(func() { close(a.stop) }) }

// addrString is addr's text form, "" for none (the tunnel without a listen
// address has no inbound port).
func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

// resolve is the tunnel's Resolver: static peers, plus gossip once joined.
func (a *Agent) resolve(target string) []string {
	if r := a.resolver.Load(); r != nil {
		return r.Resolve(target)
	}
	return a.static.Resolve(target)
}

type resolverFunc func(string) []string

func (f resolverFunc) Resolve(target string) []string { return f(target) }

// resolverBox lets an interface value live in an atomic.Pointer.
type resolverBox struct{ discovery.Resolver }

// authorize is the tunnel's Authorizer: it reads the policy in force per call.
func (a *Agent) authorize(r policy.Request) policy.Decision {
	return a.policy.Load().Decide(r)
}

// setPolicy puts p in force and wakes watchSchedule, which may be asleep
// until a boundary of the previous policy.
func (a *Agent) setPolicy(p *policy.Policy) {
	a.policy.Store(p)
	now := time.Now()
	a.policyAt.Store(&now)
	select {
	case a.policyNew <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// storeTLS forwards the tunnel's TLS needs to the identity store in force,
// which a reload may replace as a whole.
type storeTLS struct{ a *Agent }

// ServerConfig resolves the store per handshake, so the tunnel listener,
// which keeps the config it was given, follows store replacements.
func (s storeTLS) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			cfg := s.a.store.Load().ServerConfig()
			if cfg.GetConfigForClient != nil {
				return cfg.GetConfigForClient(hello)
			}
			return cfg, nil
		},
	}
}
func (s storeTLS) ClientConfig(source, target string, pins []string) (*tls.Config, error) {
	return s.a.store.Load().ClientConfig(source, target, pins)
}
func (s storeTLS) Recheck(cs tls.ConnectionState) error { return s.a.store.Load().Recheck(cs) }

// Current tells the tunnel which certificate a workload presents now, so
// it renews sessions made with a replaced one.
func (s storeTLS) Current(id string) *identity.Certificate { return s.a.store.Load().Current(id) }

// GossipAddr is the bound gossip address ("" without a gossip block).
func (a *Agent) GossipAddr() string {
	if a.gossip == nil {
		return ""
	}
	return a.gossip.GossipAddr()
}
