package identity

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
)

var errNotImplemented = errors.New("identity: not implemented yet")

// Certificate is one loaded workload certificate (immutable once built).
type Certificate struct {
	ID                  string
	TLS                 *tls.Certificate
	Leaf                *x509.Certificate
	Serial              string
	NotBefore, NotAfter time.Time
	Pin                 string
}

// WorkloadConfig names one workload's certificate and key files.
type WorkloadConfig struct{ ID, CertFile, KeyFile string }

// StoreConfig configures a Store.
type StoreConfig struct {
	TrustDomain string
	BundleFile  string
	CRLFiles    []string
	Revocation  string
	Workloads   []WorkloadConfig
	Logger      hclog.Logger
	Now         func() time.Time
}

// Store holds the trust bundle, CRLs and workload certificates.
type Store struct{}

// StoreStatus describes every source.
type StoreStatus struct{}

// NewStore loads the bundle, CRLs and every workload pair.
func NewStore(cfg StoreConfig) (*Store, error) { return nil, errNotImplemented }

// ServerConfig returns the TLS config of the accepting end.
func (s *Store) ServerConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS13} }

// ClientConfig returns the TLS config of the dialing end.
func (s *Store) ClientConfig(source, target string, pins []string) (*tls.Config, error) {
	return nil, errNotImplemented
}

// PeerID returns the SPIFFE ID of the verified peer leaf.
func PeerID(cs tls.ConnectionState) (string, error) { return "", errNotImplemented }

// Recheck re-verifies an established connection's peer chain.
func (s *Store) Recheck(cs tls.ConnectionState) error { return errNotImplemented }

// Reload re-reads every source.
func (s *Store) Reload() (changed bool, err error) { return false, errNotImplemented }

// Current returns a workload's current certificate.
func (s *Store) Current(id string) *Certificate { return nil }

// Status describes every source.
func (s *Store) Status() StoreStatus { return StoreStatus{} }
