package enroll

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

// maxResponseBytes bounds a CA server answer (a chain of a few certificates).
const maxResponseBytes = 64 << 10

// Client enrolls and renews the certificate of one workload. Ensure, Run
// and Status are safe for concurrent use; Run is meant to be called once.
type Client struct {
	cfg Config
	log hclog.Logger

	mu     sync.Mutex // guards cur and status
	cur    *pair
	status Status
}

// New validates cfg. It touches neither files nor the network.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{
		cfg:    cfg,
		log:    cfg.Logger.With("workload_id", cfg.ID),
		status: Status{ID: cfg.ID, Server: cfg.Server},
	}, nil
}

// Ensure makes sure a valid certificate and key are stored: if the stored
// pair is a valid X509-SVID of the workload chaining to the trust bundle,
// it is used as is; otherwise a new key is made here and enrolled with the
// token from TokenFile. After Ensure returns nil, CertFile and KeyFile hold
// a valid pair (the agent may load them).
func (c *Client) Ensure(ctx context.Context) error {
	roots, err := loadBundle(c.cfg.TrustBundle)
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	p, loadErr := loadPair(c.cfg, roots, now)
	if loadErr == nil {
		c.setCurrent(p)
		c.log.Info("using stored certificate", "serial", p.leaf.SerialNumber.Text(16),
			"not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339))
		return nil
	}
	if c.cfg.TokenFile == "" {
		return fmt.Errorf("%w: no usable stored certificate (%s) and no token file is configured", ErrNoToken, trimPrefix(loadErr))
	}
	tok, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		if _, statErr := os.Stat(c.cfg.CertFile); errors.Is(statErr, os.ErrNotExist) {
			return fmt.Errorf("%w: token file %q cannot be read: %v", ErrNoToken, c.cfg.TokenFile, unwrapPath(err))
		}
		return fmt.Errorf("%w: token file %q cannot be read and the stored certificate cannot be used (%s)", ErrNoToken, c.cfg.TokenFile, trimPrefix(loadErr))
	}
	c.log.Info("enrolling", "server", c.cfg.Server, "reason", trimPrefix(loadErr))
	if err := c.obtain(ctx, "enrollment", strings.TrimSpace(string(tok))); err != nil {
		if _, statErr := os.Stat(c.cfg.CertFile); statErr == nil {
			return fmt.Errorf("%w, and the stored %s", err, trimPrefix(loadErr))
		}
		return err
	}
	return nil
}

// obtain makes a new key, asks the server for a certificate (enrollment
// with token, or renewal with the current pair), checks the answer, stores
// the pair and makes it current.
func (c *Client) obtain(ctx context.Context, op, token string) error {
	roots, err := loadBundle(c.cfg.TrustBundle)
	if err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	csr, err := newCSR(key, c.cfg.ID)
	if err != nil {
		return err
	}
	var (
		path       = ca.PathRenew
		body   any = ca.RenewRequest{CSR: csr}
		client *tls.Certificate
	)
	if op == "enrollment" {
		path, body = ca.PathEnroll, ca.EnrollRequest{Token: token, CSR: csr}
	} else if cur := c.current(); cur != nil {
		client = cur.tls
	}
	resp, err := c.post(ctx, op, path, body, roots, client)
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	p, err := c.checkResponse(resp, key, roots, now)
	if err != nil {
		return err
	}
	if err := storePair(c.cfg, key, []byte(resp.Certificate)); err != nil {
		return err
	}
	c.setCurrent(p)
	c.log.Info("certificate stored", "op", op, "serial", resp.Serial,
		"not_after", p.leaf.NotAfter.UTC().Format(time.RFC3339), "cert_file", c.cfg.CertFile)
	if c.cfg.OnUpdate != nil {
		c.cfg.OnUpdate()
	}
	return nil
}

func (c *Client) checkResponse(resp *ca.IssueResponse, key *ecdsa.PrivateKey, roots *x509.CertPool, now time.Time) (*pair, error) {
	certs, err := parseCerts([]byte(resp.Certificate))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: it holds no valid PEM certificate", ErrBadResponse)
	}
	if !key.PublicKey.Equal(certs[0].PublicKey) {
		return nil, fmt.Errorf("%w: the certificate is not for the key that was sent", ErrBadResponse)
	}
	if err := checkLeaf(certs, c.cfg.ID, roots, now); err != nil {
		return nil, fmt.Errorf("%w: the certificate cannot be used: %v", ErrBadResponse, err)
	}
	raw := make([][]byte, len(certs))
	for i, x := range certs {
		raw[i] = x.Raw
	}
	tc := &tls.Certificate{Certificate: raw, PrivateKey: key, Leaf: certs[0]}
	start := now
	if start.Before(certs[0].NotBefore) {
		start = certs[0].NotBefore
	}
	return &pair{tls: tc, leaf: certs[0], key: key, start: start}, nil
}

// post sends one JSON request over TLS 1.3 to the CA server, which must
// present an X509-SVID of the trust bundle with exactly the CA server's ID.
func (c *Client) post(ctx context.Context, op, path string, body any, roots *x509.CertPool, client *tls.Certificate) (*ca.IssueResponse, error) {
	want := ca.ServerID(c.cfg.TrustDomain)
	tlsCfg := &tls.Config{
		MinVersion:             tls.VersionTLS13,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
		// crypto/tls checks DNS names; VerifyConnection checks the chain
		// and the server's SPIFFE ID instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := checkLeaf(cs.PeerCertificates, want, roots, c.cfg.Now()); err != nil {
				return fmt.Errorf("its certificate is refused: %v", err)
			}
			return nil
		},
	}
	if client != nil {
		tlsCfg.Certificates = []tls.Certificate{*client}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("enroll: encode request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.cfg.Server+path, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("enroll: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	tr := &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true, TLSHandshakeTimeout: c.cfg.Timeout}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		c.setReachable(false)
		return nil, fmt.Errorf("enroll: the CA server at %s cannot be reached for the %s: %s", c.cfg.Server, op, urlErr(err))
	}
	defer res.Body.Close()
	c.setReachable(true)
	rb, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("enroll: read the CA server's answer to the %s: %w", op, err)
	}
	if res.StatusCode != http.StatusOK {
		var er ca.ErrorResponse
		if json.Unmarshal(rb, &er) != nil || er.Error == "" {
			er = ca.ErrorResponse{Error: "HTTP " + res.Status, Code: ""}
		}
		return nil, &ServerError{Op: op, Server: c.cfg.Server, Status: res.StatusCode, Code: er.Code, Message: er.Error}
	}
	var ir ca.IssueResponse
	if err := json.Unmarshal(rb, &ir); err != nil {
		return nil, fmt.Errorf("%w: it is not the expected JSON: %v", ErrBadResponse, err)
	}
	return &ir, nil
}

// urlErr drops net/http's "Post \"https://...\": " wrapping, keeping the cause.
func urlErr(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

func (c *Client) current() *pair {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *Client) setCurrent(p *pair) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = p
	c.status.Serial = p.leaf.SerialNumber.Text(16)
	c.status.NotAfter = p.leaf.NotAfter
}

func (c *Client) setReachable(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.ServerReachable = ok
}
