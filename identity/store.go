package identity

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Revocation modes of StoreConfig.Revocation.
const (
	RevocationFailClosed = "fail_closed"
	RevocationFailOpen   = "fail_open"
)

// WorkloadConfig names one local workload and its certificate and key files.
type WorkloadConfig struct {
	ID       string // SPIFFE workload ID; must be in the store's trust domain
	CertFile string // PEM: leaf first, then any intermediates
	KeyFile  string // PEM private key (PKCS#8, SEC 1 or PKCS#1)
}

// StoreConfig configures a Store.
type StoreConfig struct {
	TrustDomain string   // required, e.g. "example.org"
	BundleFile  string   // required: PEM file of one or more CA certificates
	CRLFiles    []string // optional: PEM or DER CRLs signed by a bundle CA
	Revocation  string   // "fail_closed" (default when "") | "fail_open"
	Workloads   []WorkloadConfig
	Logger      hclog.Logger     // nil = hclog.NewNullLogger()
	Now         func() time.Time // nil = time.Now (tests inject)
}

// DefaultStoreConfig returns a config with every default filled in; the
// caller sets the trust domain, files and workloads.
func DefaultStoreConfig() StoreConfig {
	return StoreConfig{Revocation: RevocationFailClosed}
}

// Validate checks the config without touching files.
func (c StoreConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...))
	}
	td, err := spiffeid.TrustDomainFromString(c.TrustDomain)
	if c.TrustDomain == "" {
		bad("the trust domain is empty")
	} else if _, perr := ParseID("spiffe://" + c.TrustDomain); perr != nil || err != nil {
		bad("trust domain %s is not a valid trust domain name", quote(c.TrustDomain))
	}
	if c.BundleFile == "" {
		bad("the bundle file is not set")
	}
	switch c.Revocation {
	case "", RevocationFailClosed, RevocationFailOpen:
	default:
		bad("revocation %s must be %q or %q", quote(c.Revocation), RevocationFailClosed, RevocationFailOpen)
	}
	for i, f := range c.CRLFiles {
		if f == "" {
			bad("CRL file %d is an empty path", i+1)
		}
	}
	seen := map[string]bool{}
	for i, w := range c.Workloads {
		id, err := ParseWorkloadID(w.ID)
		switch {
		case err != nil:
			bad("workload %d: %s", i+1, err.(*RejectError).Detail)
		case err == nil && !td.IsZero() && id.TrustDomain() != td:
			bad("workload %s is not in trust domain %q", quote(w.ID), c.TrustDomain)
		case seen[w.ID]:
			bad("workload %s is configured twice", quote(w.ID))
		}
		seen[w.ID] = true
		if w.CertFile == "" || w.KeyFile == "" {
			bad("workload %s needs both a certificate file and a key file", quote(w.ID))
		}
	}
	return errors.Join(errs...)
}

// Store holds the trust bundle, the CRLs and the certificate of every local
// workload, and builds the TLS configs of both ends of a tunnel. Hot state
// (the trust snapshot and each workload's certificate) is read per
// handshake through atomic pointers; Reload builds new state, checks it and
// swaps it in, keeping the old state of any source whose new files are
// broken. All methods are safe for concurrent use.
type Store struct {
	cfg      StoreConfig
	td       spiffeid.TrustDomain
	failOpen bool
	log      hclog.Logger
	now      func() time.Time

	trust atomic.Pointer[trustState] // never nil after NewStore

	// revocationWarnedAt is when fail_open last logged an unknown
	// revocation status (UnixNano), to rate-limit that warning.
	revocationWarnedAt atomic.Int64
	// unknownAccepts counts peers accepted under fail_open although their
	// revocation could not be checked.
	unknownAccepts atomic.Uint64

	workloads []*workloadSource          // in config order; the slice is immutable
	byID      map[string]*workloadSource // immutable
	bySNI     map[string]*workloadSource // immutable

	mu         sync.Mutex // serializes Reload and guards the fields below
	bundle     *bundleState
	bundleErr  error
	crls       []*crlState // per CRLFiles index; nil = never loaded
	crlErrs    []error     // per CRLFiles index
	lastReload time.Time
}

// NewStore validates cfg and loads the bundle, the CRLs and every
// workload's pair. Any problem fails with one sentence per problem naming
// the file. With fail_open a CRL that cannot be loaded is logged and skipped.
func NewStore(cfg StoreConfig) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Revocation == "" {
		cfg.Revocation = RevocationFailClosed
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	td, _ := spiffeid.TrustDomainFromString(cfg.TrustDomain)
	s := &Store{
		cfg:      cfg,
		td:       td,
		failOpen: cfg.Revocation == RevocationFailOpen,
		log:      cfg.Logger,
		now:      cfg.Now,
		byID:     make(map[string]*workloadSource, len(cfg.Workloads)),
		bySNI:    make(map[string]*workloadSource, len(cfg.Workloads)),
		crls:     make([]*crlState, len(cfg.CRLFiles)),
		crlErrs:  make([]error, len(cfg.CRLFiles)),
	}
	for _, w := range cfg.Workloads {
		ws := &workloadSource{cfg: w, sni: SNI(w.ID)}
		s.workloads = append(s.workloads, ws)
		s.byID[w.ID] = ws
		s.bySNI[ws.sni] = ws
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	b, err := loadBundle(cfg.BundleFile, now)
	if err != nil {
		return nil, err
	}
	s.bundle = b
	var errs []error
	for i, f := range cfg.CRLFiles {
		c, err := loadCRL(f, b, now)
		if err != nil {
			if !s.failOpen {
				errs = append(errs, err)
				continue
			}
			s.log.Warn("CRL not loaded, revocation unknown (revocation = fail_open)", "file", f, "error", err)
			s.crlErrs[i] = err
			continue
		}
		s.crls[i] = c
		s.warnIfStale(f, c, now)
	}
	trust := s.buildTrust()
	for _, ws := range s.workloads {
		c, err := loadPair(ws.cfg, trust, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ws.cur.Store(c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.trust.Store(trust)
	s.lastReload = now
	return s, nil
}

func (s *Store) warnIfStale(file string, c *crlState, now time.Time) {
	if c.stale(now) {
		s.log.Warn("CRL is past its next update", "file", file, "next_update", c.list.NextUpdate, "revocation", s.cfg.Revocation)
	}
}

// buildTrust makes a snapshot from the current sources. Caller holds mu.
func (s *Store) buildTrust() *trustState {
	t := &trustState{bundle: s.bundle}
	for _, c := range s.crls {
		if c == nil {
			t.missingCRLs++
			continue
		}
		t.crls = append(t.crls, c)
	}
	return t
}

// Reload re-reads the bundle, the CRLs and every pair. A source whose new
// files are broken keeps its old state and its error is returned (all
// failures joined, nil when all loaded). changed reports whether any source
// now holds different content. The next handshake uses the new state;
// established connections are re-checked by the caller with Recheck.
func (s *Store) Reload() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var errs []error

	if b, err := loadBundle(s.cfg.BundleFile, now); err != nil {
		s.bundleErr = err
		errs = append(errs, err)
	} else {
		s.bundleErr = nil
		if b.digest != s.bundle.digest {
			changed = true
			s.bundle = b
		}
	}
	for i, f := range s.cfg.CRLFiles {
		c, err := loadCRL(f, s.bundle, now)
		if err != nil {
			s.crlErrs[i] = err
			errs = append(errs, err)
			continue
		}
		s.crlErrs[i] = nil
		old := s.crls[i]
		// A re-signed CRL with the same content is still a change: the
		// issuer may differ after a bundle rotation.
		if old == nil || old.digest != c.digest || !sameCA(old.issuer, c.issuer) {
			changed = true
			s.crls[i] = c
			s.warnIfStale(f, c, now)
		}
	}
	trust := s.buildTrust()
	if changed {
		s.trust.Store(trust)
	}
	for _, ws := range s.workloads {
		c, err := loadPair(ws.cfg, trust, now)
		if err != nil {
			ws.lastErr = err
			errs = append(errs, err)
			// The pair kept from before (the new files are broken, or
			// unchanged) may be revoked by a CRL that arrived since: it
			// must stop being presented, as every peer would refuse it,
			// and the caller cuts its sessions. A pair that loaded was
			// checked against the same CRLs.
			if cur := ws.cur.Load(); !cur.Revoked {
				if rej := ownRevocation(cur, trust, now); rej != nil {
					marked := *cur
					marked.Revoked = true
					ws.cur.Store(&marked)
					changed = true
					errs = append(errs, fmt.Errorf("identity: workload %s: its certificate is no longer presented: %s; load a new one", quote(cur.ID), rej.Detail))
				}
			}
			continue
		}
		ws.lastErr = nil
		if c.digest != ws.cur.Load().digest || ws.cur.Load().Revoked {
			changed = true
			ws.cur.Store(c)
		}
	}
	s.lastReload = now
	return changed, errors.Join(errs...)
}

// ownRevocation returns why c, a local certificate, is revoked under
// trust, or nil.
func ownRevocation(c *Certificate, trust *trustState, now time.Time) *RejectError {
	var inter []*x509.Certificate
	for _, der := range c.TLS.Certificate[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			inter = append(inter, ic)
		}
	}
	chains, rej := verifyChain(c.Leaf, inter, trust.bundle, now)
	if rej != nil {
		return nil // not a revocation: the peers' checks will say what it is
	}
	if rej, _ := trust.checkRevocation(chains[0], now); rej != nil && rej.Reason == ReasonRevoked {
		return rej
	}
	return nil
}

// Current returns a workload's current certificate, nil for an unknown ID.
func (s *Store) Current(id string) *Certificate {
	ws := s.byID[id]
	if ws == nil {
		return nil
	}
	return ws.cur.Load()
}

// TrustDomain returns the store's trust domain name.
func (s *Store) TrustDomain() string { return s.td.Name() }
