package ca

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
)

// Token files inside a CA directory.
const (
	TokensFile     = "tokens.json"
	TokensLockFile = "tokens.lock"
)

// DefaultTokenTTL is how long a join token stays usable when no TTL is given.
const DefaultTokenTTL = time.Hour

// tokenPrefix starts every join token: it names what the string is when an
// operator finds it in a file, and lets a typo in the version be told apart.
const tokenPrefix = "ztjoin1."

// tokenKeep is how long a used or expired token stays in TokensFile so that
// it is refused as "used" or "expired" rather than "unknown".
const tokenKeep = 7 * 24 * time.Hour

// Token refusals: a client gets exactly one of these sentences.
var (
	// ErrTokenUnknown is a token that was never issued by this CA (or was
	// pruned a week after it expired).
	ErrTokenUnknown = errors.New("ca: the join token is unknown to this CA")
	// ErrTokenUsed is a token that already bought a certificate.
	ErrTokenUsed = errors.New("ca: the join token was already used")
	// ErrTokenExpired is a token past its expiry.
	ErrTokenExpired = errors.New("ca: the join token has expired")
	// ErrTokenWrongID is a token presented for another ID than its own; it
	// stays unused.
	ErrTokenWrongID = errors.New("ca: the join token was made for another ID")
)

// tokenEntry is one stored token: only the SHA-256 of the token is kept, so
// reading the CA directory does not reveal a usable token.
type tokenEntry struct {
	Hash    string    `json:"sha256"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Used    time.Time `json:"used,omitzero"`
}

type tokenFile struct {
	Tokens []tokenEntry `json:"tokens"`
}

// NewToken creates a one-time join token for the workload ID id, valid for
// ttl (0 = DefaultTokenTTL), and returns it. It stores only the token's
// SHA-256 with the ID and expiry in DIR/tokens.json, under an exclusive
// flock of DIR/tokens.lock, so that it is safe to run while `ca serve`
// consumes tokens.
func NewToken(dir, id string, ttl time.Duration) (string, error) {
	a, err := load(dir)
	if err != nil {
		return "", err
	}
	sid, err := identity.ParseWorkloadID(id)
	if err != nil {
		return "", rewrap(err)
	}
	if sid.TrustDomain().Name() != a.td {
		return "", fmt.Errorf("ca: ID %q is not in the CA's trust domain %q", id, a.td)
	}
	if ttl < 0 {
		return "", fmt.Errorf("ca: token lifetime %s is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("ca: random token: %w", err)
	}
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := time.Now()
	err = withTokens(dir, now, func(tf *tokenFile) (bool, error) {
		tf.Tokens = append(tf.Tokens, tokenEntry{Hash: tokenHash(tok), ID: sid.String(), Created: now.UTC(), Expires: now.Add(ttl).UTC()})
		return true, nil
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// ConsumeToken marks token used and returns the ID it was issued for. It is
// atomic across processes: of two concurrent calls with one token, exactly
// one succeeds. A refused token is ErrTokenUnknown, ErrTokenUsed or
// ErrTokenExpired (possibly wrapped); leading and trailing white space (a
// token file's newline) is ignored.
func ConsumeToken(dir, token string, now time.Time) (string, error) {
	return ConsumeTokenFor(dir, token, "", now)
}

// ConsumeTokenFor is ConsumeToken for a request that names the ID it wants
// (want, "" for any): a token made for another ID is refused with
// ErrTokenWrongID and left unused, so that a misconfigured host does not
// burn the token its right owner needs.
func ConsumeTokenFor(dir, token, want string, now time.Time) (string, error) {
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, tokenPrefix) {
		return "", ErrTokenUnknown
	}
	h := tokenHash(token)
	var id string
	err := withTokens(dir, now, func(tf *tokenFile) (bool, error) {
		for i := range tf.Tokens {
			e := &tf.Tokens[i]
			if e.Hash != h {
				continue
			}
			switch {
			case !e.Used.IsZero():
				return false, ErrTokenUsed
			case !now.Before(e.Expires):
				return false, ErrTokenExpired
			case want != "" && want != e.ID:
				return false, fmt.Errorf("%w: it is for %q, the request names %q; it is still unused", ErrTokenWrongID, e.ID, want)
			}
			e.Used = now.UTC()
			id = e.ID
			return true, nil
		}
		return false, ErrTokenUnknown
	})
	return id, err
}

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// withTokens runs fn on the token file under an exclusive flock and, when fn
// reports a change, writes it back atomically (temporary file + rename).
// Entries used or expired more than tokenKeep ago are pruned on write.
func withTokens(dir string, now time.Time, fn func(*tokenFile) (bool, error)) error {
	lockPath := filepath.Join(dir, TokensLockFile)
	lf, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("ca: open token lock %q: %w", lockPath, unwrapPath(err))
	}
	defer lf.Close() // closing the descriptor releases the lock
	for {
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ca: lock %q: %w", lockPath, err)
	}
	p := filepath.Join(dir, TokensFile)
	var tf tokenFile
	data, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("ca: token file %q cannot be read: %w", p, unwrapPath(err))
	default:
		if err := json.Unmarshal(data, &tf); err != nil {
			return fmt.Errorf("ca: token file %q is not valid JSON: %w", p, err)
		}
	}
	changed, err := fn(&tf)
	if err != nil || !changed {
		return err
	}
	kept := tf.Tokens[:0]
	for _, e := range tf.Tokens {
		end := e.Expires
		if !e.Used.IsZero() && e.Used.Before(end) {
			end = e.Used
		}
		if now.Sub(end) < tokenKeep {
			kept = append(kept, e)
		}
	}
	tf.Tokens = kept
	out, err := json.MarshalIndent(&tf, "", "  ")
	if err != nil {
		return fmt.Errorf("ca: encode token file: %w", err)
	}
	return writeFileAtomic(p, append(out, '\n'), 0o600)
}
