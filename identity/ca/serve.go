package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Defaults of ServeConfig.
const (
	DefaultSVIDTTL        = time.Hour
	DefaultServerCertTTL  = 24 * time.Hour
	DefaultRequestTimeout = 30 * time.Second
	DefaultRatePerSecond  = 5
	DefaultRateBurst      = 20
	DefaultMaxConcurrent  = 64
)

// ServeConfig configures the CA server (`ztunnel ca serve`).
type ServeConfig struct {
	Dir     string        // required: an initialised CA directory
	Listen  string        // host:port; used by Serve, ignored by Server.Serve
	SVIDTTL time.Duration // lifetime of issued certificates; 0 = DefaultSVIDTTL
	Logger  hclog.Logger  // nil = hclog.NewNullLogger()

	// ServerCertTTL is the lifetime of the server's own certificate, which
	// it issues itself in memory and renews at half its life; 0 =
	// DefaultServerCertTTL.
	ServerCertTTL time.Duration
	// RequestTimeout bounds a connection's TLS handshake and request read,
	// and the response write; 0 = DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RatePerSecond and RateBurst limit requests per client IP address
	// (token bucket); 0 = the defaults. A refused request gets 429.
	RatePerSecond float64
	RateBurst     int
	// MaxConcurrent bounds requests being handled at once; 0 =
	// DefaultMaxConcurrent. Beyond it a request gets 503.
	MaxConcurrent int
	// Now is the clock; nil = time.Now (tests inject).
	Now func() time.Time
}

// DefaultServeConfig returns a config with every default filled in; the
// caller sets Dir and Listen.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		SVIDTTL:        DefaultSVIDTTL,
		Logger:         hclog.NewNullLogger(),
		ServerCertTTL:  DefaultServerCertTTL,
		RequestTimeout: DefaultRequestTimeout,
		RatePerSecond:  DefaultRatePerSecond,
		RateBurst:      DefaultRateBurst,
		MaxConcurrent:  DefaultMaxConcurrent,
		Now:            time.Now,
	}
}

// Validate checks the config without touching files.
func (c ServeConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("ca: serve needs a CA directory")
	case c.SVIDTTL < 0:
		return fmt.Errorf("ca: certificate lifetime %s is negative", c.SVIDTTL)
	case c.ServerCertTTL < 0:
		return fmt.Errorf("ca: server certificate lifetime %s is negative", c.ServerCertTTL)
	case c.RequestTimeout < 0:
		return fmt.Errorf("ca: request timeout %s is negative", c.RequestTimeout)
	case c.RatePerSecond < 0 || c.RateBurst < 0 || c.MaxConcurrent < 0:
		return errors.New("ca: rate and concurrency limits cannot be negative")
	}
	return nil
}

func (c ServeConfig) withDefaults() ServeConfig {
	d := DefaultServeConfig()
	if c.SVIDTTL == 0 {
		c.SVIDTTL = d.SVIDTTL
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.ServerCertTTL == 0 {
		c.ServerCertTTL = d.ServerCertTTL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = d.RatePerSecond
	}
	if c.RateBurst == 0 {
		c.RateBurst = d.RateBurst
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = d.MaxConcurrent
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	return c
}

// Server is the CA server: enrollment with one-time tokens and renewal over
// mutual TLS. Build it with NewServer, run it with Serve.
type Server struct {
	cfg   ServeConfig
	a     *authority
	roots *x509.CertPool
	log   hclog.Logger
	lim   *limiter
	sem   chan struct{}

	mu      sync.Mutex       // guards srvCert
	srvCert *tls.Certificate // the server's own certificate; renewed at half life
}

// NewServer validates cfg and loads the CA directory.
func NewServer(cfg ServeConfig) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a, err := load(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if _, err := a.readCRL(); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.cert)
	return &Server{
		cfg:   cfg,
		a:     a,
		roots: roots,
		log:   cfg.Logger,
		lim:   newLimiter(cfg.RatePerSecond, cfg.RateBurst),
		sem:   make(chan struct{}, cfg.MaxConcurrent),
	}, nil
}

// Serve listens on cfg.Listen and serves until ctx is done (then it stops
// accepting, lets requests in flight finish for a few seconds and returns
// nil). `ztunnel ca serve` calls it.
func Serve(ctx context.Context, cfg ServeConfig) error {
	s, err := NewServer(cfg)
	if err != nil {
		return err
	}
	if cfg.Listen == "" {
		return errors.New("ca: serve needs a listen address")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("ca: listen on %q: %w", cfg.Listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln (plain TCP; the server adds TLS) until ctx is done,
// then closes ln and returns nil; any other stop is returned as an error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if _, err := s.serverCert(); err != nil {
		ln.Close()
		return err
	}
	tlsCfg := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
		// A client certificate is optional (enroll has none); renew checks
		// it in the handler so that a refusal is a readable JSON sentence.
		ClientAuth: tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.serverCert()
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PathEnroll, s.handleEnroll)
	mux.HandleFunc(PathRenew, s.handleRenew)
	mux.HandleFunc(PathCRL, s.handleCRL)
	t := s.cfg.RequestTimeout
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: t, // also bounds the TLS handshake
		ReadTimeout:       t,
		WriteTimeout:      t,
		IdleTimeout:       2 * t,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          s.log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
	s.log.Info("CA server listening", "address", ln.Addr().String(), "trust_domain", s.a.td,
		"server_id", ServerID(s.a.td), "svid_ttl", s.cfg.SVIDTTL.String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, tlsCfg)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ca: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	s.log.Info("CA server stopped")
	return nil
}

// serverCert returns the server's own certificate, issuing a new one in
// memory when there is none or the current one is past half its life. Its
// key never touches the disk; its serial is recorded like any other.
func (s *Server) serverCert() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if c := s.srvCert; c != nil {
		half := c.Leaf.NotBefore.Add(c.Leaf.NotAfter.Sub(c.Leaf.NotBefore) / 2)
		if now.Before(half) {
			return c, nil
		}
	}
	key, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("ca: generate server key: %w", err)
	}
	id, err := spiffeid.FromString(ServerID(s.a.td))
	if err != nil {
		return nil, fmt.Errorf("ca: server ID: %w", err)
	}
	leaf, err := s.a.signSVID(&key.PublicKey, id, s.cfg.ServerCertTTL, now)
	if err != nil {
		return nil, err
	}
	s.srvCert = &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	s.log.Info("server certificate issued", "id", id.String(), "serial", leaf.SerialNumber.Text(16),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return s.srvCert, nil
}
