package enroll

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

// Outcomes of Status.LastOutcome.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// Status is the renewal state of one workload, for /v1/status and metrics.
type Status struct {
	ID              string    `json:"id"`
	Server          string    `json:"server"`
	Serial          string    `json:"serial,omitempty"`
	NotAfter        time.Time `json:"not_after,omitzero"`
	NextRenewal     time.Time `json:"next_renewal,omitzero"`
	LastAttempt     time.Time `json:"last_attempt,omitzero"`
	LastSuccess     time.Time `json:"last_success,omitzero"`
	LastOutcome     string    `json:"last_outcome,omitempty"` // "ok" | "error"; empty before the first renewal
	LastError       string    `json:"last_error,omitempty"`
	Failures        int       `json:"consecutive_failures"`
	Renewals        uint64    `json:"renewals"`
	RenewalFailures uint64    `json:"renewal_failures"`
	ServerReachable bool      `json:"server_reachable"` // the last request got an answer (even a refusal); false before the first request
}

// Status returns a snapshot of the renewal state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Run renews the certificate until ctx is done, then returns ctx.Err(). It
// needs a current certificate (call Ensure first; without one it returns
// ErrNoToken at once). Once the certificate has expired or the server
// refuses it as revoked, a readable TokenFile is used to enroll again. Each renewal happens at 45-55% of the certificate's
// life counted from when it was obtained; a failed renewal is retried after
// an exponential back-off from MinBackoff to MaxBackoff (±20% jitter, and
// never more than a third of the remaining life), while the current
// certificate stays on disk and in use until it expires.
func (c *Client) Run(ctx context.Context) error {
	if c.current() == nil {
		return ErrNoToken
	}
	failures := 0
	var lastErr error
	next := c.renewalTime(c.current())
	for {
		c.setNext(next)
		wait := next.Sub(c.cfg.Now())
		c.log.Debug("next renewal scheduled", "at", next.UTC().Format(time.RFC3339Nano), "in", wait.String())
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		op, token := c.nextOp(lastErr)
		c.log.Debug("requesting a certificate", "op", op)
		err := c.obtain(ctx, op, token)
		lastErr = err
		now := c.cfg.Now()
		if err == nil {
			failures = 0
			c.recordOutcome(now, nil)
			next = c.renewalTime(c.current())
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failures++
		c.recordOutcome(now, err)
		next = now.Add(c.backoff(failures, c.current().leaf.NotAfter.Sub(now)))
		c.log.Warn("certificate renewal failed; keeping the current certificate", "error", err,
			"failures", failures, "retry_at", next.UTC().Format(time.RFC3339Nano),
			"not_after", c.current().leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}

// nextOp picks how to get the next certificate: renewal, unless the
// current certificate has expired or was refused as revoked and a token
// file is readable, in which case an operator may have dropped a new token
// there and the client enrolls again (no restart needed).
func (c *Client) nextOp(lastErr error) (op, token string) {
	var se *ServerError
	dead := !c.cfg.Now().Before(c.current().leaf.NotAfter) ||
		(errors.As(lastErr, &se) && (se.Code == ca.CodeRevoked || se.Code == ca.CodeExpired))
	if !dead || c.cfg.TokenFile == "" {
		return "renewal", ""
	}
	tok, err := os.ReadFile(c.cfg.TokenFile)
	if err != nil {
		return "renewal", ""
	}
	return "enrollment", strings.TrimSpace(string(tok))
}

// renewalTime is start + lifetime x U(0.45, 0.55): the jitter spreads the
// renewals of many agents enrolled at once.
func (c *Client) renewalTime(p *pair) time.Time {
	life := p.leaf.NotAfter.Sub(p.start)
	frac := 0.45 + rand.Float64()*0.10
	return p.start.Add(time.Duration(float64(life) * frac))
}

// backoff is MinBackoff x 2^(failures-1), capped by MaxBackoff and by a
// third of the remaining life (but at least MinBackoff), ±20% jitter.
func (c *Client) backoff(failures int, remaining time.Duration) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < failures && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	if third := remaining / 3; remaining > 0 && third < d {
		d = max(third, c.cfg.MinBackoff)
	}
	return time.Duration(float64(d) * (0.8 + rand.Float64()*0.4))
}

func (c *Client) setNext(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.NextRenewal = t
}

func (c *Client) recordOutcome(now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status.LastAttempt = now
	if err == nil {
		c.status.LastOutcome, c.status.LastError = OutcomeOK, ""
		c.status.LastSuccess = now
		c.status.Failures = 0
		c.status.Renewals++
		return
	}
	c.status.LastOutcome, c.status.LastError = OutcomeError, err.Error()
	c.status.Failures++
	c.status.RenewalFailures++
}
