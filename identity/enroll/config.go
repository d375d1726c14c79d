package enroll

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Defaults of Config.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// Config configures the enrollment client of one workload.
type Config struct {
	Server      string // required: host:port of `ztunnel ca serve`
	TrustBundle string // required: PEM bundle; the CA server must chain to it
	TrustDomain string // required; the server must present spiffe://<TD>/ztunnel/ca-server
	ID          string // required: the workload's SPIFFE ID
	TokenFile   string // one-time token; needed only while no valid certificate is stored
	CertFile    string // required: where the certificate is stored, e.g. data_dir/<name>.crt
	KeyFile     string // required: where the key is stored (0600), e.g. data_dir/<name>.key

	Logger hclog.Logger     // nil = hclog.NewNullLogger()
	Now    func() time.Time // nil = time.Now (tests inject)

	// Timeout bounds one request to the CA server, TLS handshake included;
	// 0 = DefaultTimeout.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed renewals,
	// which doubles from MinBackoff; 0 = the defaults. The wait is also
	// kept under a third of the current certificate's remaining life.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// OnUpdate, when set, is called after a new certificate and key are in
	// place on disk (the agent reloads its identity store at once instead of
	// waiting for its file watcher).
	OnUpdate func()
}

// DefaultConfig returns a config with every default filled in; the caller
// sets the server, trust, ID and files.
func DefaultConfig() Config {
	return Config{
		Logger:     hclog.NewNullLogger(),
		Now:        time.Now,
		Timeout:    DefaultTimeout,
		MinBackoff: DefaultMinBackoff,
		MaxBackoff: DefaultMaxBackoff,
	}
}

// Validate checks the config without touching files or the network.
func (c Config) Validate() error {
	req := []struct{ name, v string }{
		{"server", c.Server}, {"trust bundle", c.TrustBundle}, {"trust domain", c.TrustDomain},
		{"ID", c.ID}, {"certificate file", c.CertFile}, {"key file", c.KeyFile},
	}
	for _, r := range req {
		if r.v == "" {
			return fmt.Errorf("%w: the %s is empty", ErrBadConfig, r.name)
		}
	}
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		return fmt.Errorf("%w: server %q is not host:port", ErrBadConfig, c.Server)
	}
	id, err := identity.ParseWorkloadID(c.ID)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBadConfig, trimPrefix(err))
	}
	if id.TrustDomain().Name() != c.TrustDomain {
		return fmt.Errorf("%w: ID %q is not in trust domain %q", ErrBadConfig, c.ID, c.TrustDomain)
	}
	if c.CertFile == c.KeyFile {
		return fmt.Errorf("%w: the certificate and key files are the same file %q", ErrBadConfig, c.CertFile)
	}
	if c.Timeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 {
		return fmt.Errorf("%w: timeouts and back-off cannot be negative", ErrBadConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = d.MinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	return c
}

// Paths returns where the agent stores an enrolled workload's pair:
// data_dir/<workload name>.crt and .key (DESIGN §5).
func Paths(dataDir, workloadName string) (certFile, keyFile string) {
	base := filepath.Join(dataDir, workloadName)
	return base + ".crt", base + ".key"
}
