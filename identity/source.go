package identity

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
	"time"
)

// Certificate is one loaded workload certificate. Immutable once built:
// a reload builds a new one.
type Certificate struct {
	ID        string
	TLS       *tls.Certificate // Leaf set; chain includes intermediates from the file
	Leaf      *x509.Certificate
	Serial    string // lowercase hex
	NotBefore time.Time
	NotAfter  time.Time
	Pin       string
	// Revoked is set when a CRL loaded after this certificate revokes it:
	// it is no longer presented (handshakes that would need it fail) until
	// a valid pair is loaded.
	Revoked bool

	digest   [sha256.Size]byte // of the cert and key files, to detect change
	loadedAt time.Time
}

// LoadedAt is when this certificate was loaded. A reload that finds the
// same files keeps the Certificate, and this time, unchanged.
func (c *Certificate) LoadedAt() time.Time { return c.loadedAt }

// workloadSource is one local workload's certificate source.
type workloadSource struct {
	cfg WorkloadConfig
	sni string
	cur atomic.Pointer[Certificate] // read per handshake; never nil after NewStore

	lastErr error // guarded by Store.mu
}

// loadPair reads and checks a workload's certificate and key files: PEM,
// key matches the leaf, X509-SVID rules, configured ID, chain to the bundle,
// validity at now and not revoked. Errors name the file and carry a Reason when one
// applies.
func loadPair(cfg WorkloadConfig, trust *trustState, now time.Time) (*Certificate, error) {
	certPEM, err := readFile("certificate file", cfg.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFile("key file", cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertsPEM("certificate file", cfg.CertFile, certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKeyPEM(cfg.KeyFile, keyPEM)
	if err != nil {
		return nil, err
	}
	leaf := certs[0]
	if !publicKeyEqual(key, leaf.PublicKey) {
		return nil, reject(ReasonKeyMismatch, "key file %q does not match the certificate in %q", cfg.KeyFile, cfg.CertFile)
	}
	inFile := func(e error) error {
		re := e.(*RejectError)
		return reject(re.Reason, "certificate file %q: %s", cfg.CertFile, re.Detail)
	}
	id, err := CheckSVID(leaf)
	if err != nil {
		return nil, inFile(err)
	}
	if id.String() != cfg.ID {
		return nil, reject(ReasonWrongID, "certificate file %q holds ID %s, but the workload is configured as %s", cfg.CertFile, quote(id.String()), quote(cfg.ID))
	}
	if rej := checkValidity(leaf, now); rej != nil {
		return nil, inFile(rej)
	}
	chains, rej := verifyChain(leaf, certs[1:], trust.bundle, now)
	if rej != nil {
		return nil, inFile(rej)
	}
	// A revoked certificate of our own would be refused by every peer:
	// refuse it here so that the old pair stays (or the start fails). A
	// stale CRL is the peers' concern, not a reason to drop our pair.
	if rej, _ := trust.checkRevocation(chains[0], now); rej != nil {
		return nil, inFile(rej)
	}
	raw := make([][]byte, len(certs))
	for i, c := range certs {
		raw[i] = c.Raw
	}
	h := sha256.New()
	h.Write(certPEM)
	h.Write(keyPEM)
	c := &Certificate{
		ID:        cfg.ID,
		TLS:       &tls.Certificate{Certificate: raw, PrivateKey: key, Leaf: leaf},
		Leaf:      leaf,
		Serial:    serialHex(leaf),
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		Pin:       Pin(leaf),
		loadedAt:  now,
	}
	h.Sum(c.digest[:0])
	return c, nil
}
