package tunnel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// dialSession dials addr, runs the TLS handshake as key.source requiring
// key.target, starts a yamux client and confirms the tunnel with a ping
// (Go's TLS client learns that the server rejected its certificate only
// on its first read). All of it is bounded by DialTimeout.
func (t *Tunnel) dialSession(key poolKey, pins []string) (*session, error) {
	start := time.Now()
	s, err := t.dialSessionRaw(key, pins)
	d := time.Since(start)
	if err != nil {
		reason := identity.ReasonOf(err)
		t.metrics.Handshake(DirOutbound, ResultFailed, reason, d)
		t.outLog.Warn("tunnel dial failed", "source", key.source, "target", key.target,
			"address", key.addr, "reason", reason, "error", err)
		return nil, err
	}
	t.metrics.Handshake(DirOutbound, ResultOK, "", d)
	t.outLog.Debug("tunnel up", "source", key.source, "target", key.target, "address", key.addr,
		"duration", d)
	t.addSession(s)
	if st := s.ctrl.Load(); st != nil {
		t.goFunc(func() { t.readControl(s, st) })
	}
	return s, nil
}

func (t *Tunnel) dialSessionRaw(key poolKey, pins []string) (*session, error) {
	hsStart := time.Now() // before the certificate to present is chosen
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.DialTimeout)
	defer cancel()
	cfg, err := t.cfg.TLS.ClientConfig(key.source, key.target, pins)
	if err != nil {
		return nil, fmt.Errorf("tunnel: client config for %s -> %s: %w", key.source, key.target, err)
	}
	// Remember which certificate we present: the session must be renewed
	// before it expires, like the peer's.
	var ownExpiry time.Time
	if get := cfg.GetClientCertificate; get != nil {
		cfg = cfg.Clone()
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := get(cri)
			if c != nil && c.Leaf != nil {
				ownExpiry = c.Leaf.NotAfter
			}
			return c, err
		}
	}
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", key.addr)
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", key.addr, err)
	}
	setNoDelay(raw)
	ck := &corkConn{Conn: raw}
	tc := tls.Client(ck, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tunnel: TLS handshake with %s: %w", key.addr, err)
	}
	rec := &readErrConn{Conn: &coalesceConn{Conn: tc, cork: ck}}
	rec.lastRead.Store(time.Now().UnixNano())
	ym, err := yamux.Client(rec, t.ymCfg)
	if err != nil {
		tc.Close()
		return nil, fmt.Errorf("tunnel: yamux client: %w", err)
	}
	pinged := make(chan error, 1)
	go func() {
		_, err := ym.Ping()
		pinged <- err
	}()
	select {
	case err = <-pinged:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		ym.Close()
		if rerr := rec.err(); rerr != nil {
			err = rerr // the TLS alert says more than "session shutdown"
		}
		return nil, fmt.Errorf("tunnel: confirm tunnel to %s: %w", key.addr, err)
	}
	s := &session{
		id:        t.nextID.Add(1),
		direction: DirOutbound,
		source:    key.source,
		target:    key.target,
		addr:      key.addr,
		ym:        ym,
		conn:      tc,
		cs:        tc.ConnectionState(),
		openedAt:  time.Now(),
		expires:   ownExpiry,
		hsStart:   hsStart,
		rec:       rec,
	}
	s.idleSince.Store(time.Now().UnixNano())
	if pc := s.cs.PeerCertificates; len(pc) > 0 && (s.expires.IsZero() || pc[0].NotAfter.Before(s.expires)) {
		s.expires = pc[0].NotAfter
	}
	s.renewAt = renewTime(s.openedAt, s.expires)
	if err := t.openControl(s); err != nil {
		ym.Close()
		return nil, fmt.Errorf("tunnel: confirm tunnel to %s: %w", key.addr, err)
	}
	// A reload during the handshake ran its Recheck before s existed: if
	// our certificate changed meanwhile, s presented the old one. It still
	// carries the stream it was dialed for; new ones go to a fresh session.
	t.renewIfCertReplaced(s)
	return s, nil
}

// readErrConn remembers the first read error of its conn, so that a
// handshake refused by the server after our side finished (a TLS 1.3
// client-certificate rejection) can be reported with the server's alert.
type readErrConn struct {
	net.Conn
	mu    sync.Mutex
	first error
	// lastRead is when bytes last arrived (unix ns): a session quiet for
	// long is pinged before it gets a new stream (see checkQuiet).
	lastRead atomic.Int64
}

func (c *readErrConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	if err != nil {
		c.mu.Lock()
		if c.first == nil {
			c.first = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *readErrConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil || errors.Is(c.first, net.ErrClosed) {
		return nil
	}
	return c.first
}

func setNoDelay(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
}

// localCerts is implemented by TLS providers that tell which certificate a
// local workload presents now (identity.Store does). With it, a session
// dialed with a certificate that has since been replaced is renewed: new
// streams go to a session made with the new one, so that the old
// certificate (and the CA behind it, during a CA rotation) can be retired
// without cutting streams.
type localCerts interface {
	Current(id string) *identity.Certificate
}

// localRevoked returns an error when the certificate of s's local workload
// (the caller on an outbound session, the callee on an inbound one) is now
// revoked: peers would refuse it, so sessions made with it are cut like
// sessions with a revoked peer.
func (t *Tunnel) localRevoked(s *session) error {
	if c := t.ownCert(s.localID()); c != nil && c.Revoked {
		return fmt.Errorf("%w: %s (serial %s)", identity.ErrOwnCertRevoked, s.localID(), c.Serial)
	}
	return nil
}

// ownCert is local workload id's current certificate, nil when the TLS
// provider does not tell.
func (t *Tunnel) ownCert(id string) *identity.Certificate {
	if lc, ok := t.cfg.TLS.(localCerts); ok {
		return lc.Current(id)
	}
	return nil
}

// certLoadedAt is when local workload id's current certificate was
// loaded, zero when the TLS provider does not tell.
func (t *Tunnel) certLoadedAt(id string) time.Time {
	if c := t.ownCert(id); c != nil {
		return c.LoadedAt()
	}
	return time.Time{}
}
