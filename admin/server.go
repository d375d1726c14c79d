package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Backend is what the admin API shows and acts on. The agent implements it.
// Every method may be called concurrently from HTTP handlers.
type Backend interface {
	// Status, Tunnels and Members return JSON-serialisable documents.
	Status() any
	Tunnels() any
	Members() any
	// Ready returns nil when the agent serves traffic, else why not.
	Ready() error
	// Reload runs the same reload as SIGHUP and returns its outcome.
	Reload() error
}

// Config configures a Server. The zero value of each field is documented.
type Config struct {
	// Listen is host:port on a loopback address, or an absolute path of a
	// unix socket. Required.
	Listen string
	// Pprof serves /debug/pprof/ when true; default false.
	Pprof bool
	// MetricsListen, when set, is host:port (any address: it may face the
	// network) of a second listener serving only the read-only /metrics,
	// /healthz and /readyz. Default "": none.
	MetricsListen string
	// Backend answers the API. Required.
	Backend Backend
	// Metrics serves /metrics; nil serves 404 there.
	Metrics http.Handler
	// Logger; nil = no logging.
	Logger hclog.Logger
	// Stopped is called once, from the serving goroutine, when the server
	// stops serving for a reason other than Close (its listener failed);
	// the error names the cause. nil = the error is only logged.
	Stopped func(error)
}

// Validate reports the first problem of c as one sentence.
func (c *Config) Validate() error {
	if c.Backend == nil {
		return errors.New("admin: no backend")
	}
	if strings.HasPrefix(c.Listen, "/") {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen %q is neither host:port nor an absolute unix socket path", c.Listen)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("admin: listen %q is not a loopback address; the admin API must not be reachable from the network", c.Listen)
	}
	return nil
}

// Server is the admin HTTP server. Start binds it; Close stops it.
type Server struct {
	cfg  Config
	srv  *http.Server
	ln   net.Listener
	msrv *http.Server // the metrics listener's server, nil without one
	mln  net.Listener
	once sync.Once
	// stopOnce: Config.Stopped is called once, for the first listener
	// that fails.
	stopOnce sync.Once
}

// New returns a Server for cfg; it binds nothing until Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	s := &Server{cfg: cfg}
	s.srv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          cfg.Logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	if cfg.MetricsListen != "" {
		s.msrv = &http.Server{
			Handler:           s.metricsRoutes(),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          s.srv.ErrorLog,
		}
	}
	return s, nil
}

// Start binds the listener and serves in the background.
func (s *Server) Start() error {
	network, addr := "tcp", s.cfg.Listen
	if strings.HasPrefix(addr, "/") {
		network = "unix"
		// A stale socket from a crashed agent would make the bind fail.
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(addr)
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return &ListenError{Addr: addr, Err: err}
	}
	if network == "unix" {
		_ = os.Chmod(addr, 0o660)
	}
	s.ln = ln
	if s.msrv != nil {
		mln, err := net.Listen("tcp", s.cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return &ListenError{Metrics: true, Addr: s.cfg.MetricsListen, Err: err}
		}
		s.mln = mln
		go s.serve(s.msrv, mln, "metrics listener")
	}
	go s.serve(s.srv, ln, "API")
	return nil
}

// serve runs srv on ln until Close, reporting any other end.
func (s *Server) serve(srv *http.Server, ln net.Listener, what string) {
	err := srv.Serve(ln)
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		return
	}
	err = fmt.Errorf("admin: %s stopped serving: %w", what, err)
	reported := false
	s.stopOnce.Do(func() {
		if s.cfg.Stopped != nil { // the owner handles (and logs) it
			s.cfg.Stopped(err)
			reported = true
		}
	})
	if !reported {
		s.cfg.Logger.Error("admin server stopped", "error", err)
	}
}

// MetricsAddr is the metrics listener's bound address (nil without one or
// before Start).
func (s *Server) MetricsAddr() net.Addr {
	if s.mln == nil {
		return nil
	}
	return s.mln.Addr()
}

// Addr is the bound address (nil before Start).
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops the server, waiting up to ctx for in-flight requests. Idempotent.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		if s.msrv != nil {
			_ = s.msrv.Shutdown(ctx)
		}
		err = s.srv.Shutdown(ctx)
		if strings.HasPrefix(s.cfg.Listen, "/") && s.ln != nil {
			_ = os.Remove(s.cfg.Listen)
		}
	})
	return err
}

// metricsRoutes are the read-only endpoints of the metrics listener.
func (s *Server) metricsRoutes() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	return mux
}

// health registers /healthz and /readyz.
func (s *Server) health(mux *http.ServeMux) {
	b := s.cfg.Backend
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, Result{OK: true}) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, Result{OK: false, Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, Result{OK: true})
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	b := s.cfg.Backend
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, b.Status()) })
	mux.HandleFunc("GET /v1/tunnels", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, b.Tunnels()) })
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, b.Members()) })
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Reload(); err != nil {
			writeJSON(w, http.StatusInternalServerError, Result{OK: false, Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, Result{OK: true})
	})
	s.health(mux)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Result is the body of /healthz, /readyz and POST /v1/reload.
type Result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ListenError is a listener Start could not bind.
type ListenError struct {
	Metrics bool // the metrics listener, not the API's
	Addr    string
	Err     error
}

func (e *ListenError) Error() string {
	if e.Metrics {
		return fmt.Sprintf("admin: metrics listen %s: %v", e.Addr, e.Err)
	}
	return fmt.Sprintf("admin: listen %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }
