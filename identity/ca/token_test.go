package ca

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newToken(tb testing.TB, dir, id string, ttl time.Duration) string {
	tb.Helper()
	tok, err := NewToken(dir, id, ttl)
	if err != nil {
		tb.Fatalf("NewToken: %v", err)
	}
	return tok
}

func TestConsumeToken(t *testing.T) {
	dir := initCA(t)
	now := time.Now()
	used := newToken(t, dir, idPay, 0)
	if _, err := ConsumeToken(dir, used, now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		token   string
		at      time.Time
		wantID  string
		wantErr error
	}{
		{name: "fresh, with a newline", token: newToken(t, dir, idFront, time.Hour) + "\n", at: now, wantID: idFront},
		{name: "used", token: used, at: now, wantErr: ErrTokenUsed},
		{name: "expired", token: newToken(t, dir, idFront, time.Hour), at: now.Add(time.Hour + time.Second), wantErr: ErrTokenExpired},
		{name: "unknown", token: tokenPrefix + strings.Repeat("A", 43), at: now, wantErr: ErrTokenUnknown},
		{name: "no prefix", token: "hello", at: now, wantErr: ErrTokenUnknown},
		{name: "empty", token: "", at: now, wantErr: ErrTokenUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ConsumeToken(dir, tt.token, tt.at)
			if err != tt.wantErr || id != tt.wantID {
				t.Fatalf("ConsumeToken = %q, %v; want %q, %v", id, err, tt.wantID, tt.wantErr)
			}
		})
	}
}

func TestTokenErrorSentences(t *testing.T) {
	for err, want := range map[error]string{
		ErrTokenUnknown: "ca: the join token is unknown to this CA",
		ErrTokenUsed:    "ca: the join token was already used",
		ErrTokenExpired: "ca: the join token has expired",
	} {
		if err.Error() != want {
			t.Errorf("%q, want %q", err.Error(), want)
		}
	}
}

func TestNewTokenErrors(t *testing.T) {
	dir := initCA(t)
	empty := t.TempDir()
	tests := []struct {
		name, dir, id string
		ttl           time.Duration
		want          string
	}{
		{name: "other trust domain", dir: dir, id: "spiffe://other.org/w", want: `ca: ID "spiffe://other.org/w" is not in the CA's trust domain "example.org"`},
		{name: "root ID", dir: dir, id: "spiffe://example.org", want: `ca: SPIFFE ID "spiffe://example.org" has no path: a workload ID needs one`},
		{name: "negative TTL", dir: dir, id: idFront, ttl: -time.Second, want: "ca: token lifetime -1s is negative"},
		{name: "no CA", dir: empty, id: idFront, want: `ca: "` + empty + `" holds no CA (no ca.crt); run ` + "`ztunnel ca init`" + ` first`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewToken(tt.dir, tt.id, tt.ttl); errString(err) != tt.want {
				t.Fatalf("error %q, want %q", errString(err), tt.want)
			}
		})
	}
}

func TestTokenStoredOnlyAsHash(t *testing.T) {
	dir := initCA(t)
	tok := newToken(t, dir, idFront, 0)
	p := filepath.Join(dir, TokensFile)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(tok, tokenPrefix)
	if strings.Contains(string(data), secret) || !strings.Contains(string(data), tokenHash(tok)) {
		t.Fatalf("token file holds the token or lacks its hash:\n%s", data)
	}
	if m := mode(t, p); m != 0o600 {
		t.Errorf("token file mode %o, want 600", m)
	}
	if len(secret) != 43 {
		t.Errorf("token secret has %d base64 characters, want 43 (256 bits)", len(secret))
	}
}

func TestTokenPrunedAfterAWeek(t *testing.T) {
	dir := initCA(t)
	old := newToken(t, dir, idFront, time.Hour)
	later := time.Now().Add(tokenKeep + 2*time.Hour)
	// Any write prunes: consume a token made "later".
	err := withTokens(dir, later, func(tf *tokenFile) (bool, error) {
		tf.Tokens = append(tf.Tokens, tokenEntry{Hash: "x", ID: idPay, Created: later, Expires: later.Add(time.Hour)})
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ConsumeToken(dir, old, later); !errors.Is(err, ErrTokenUnknown) {
		t.Fatalf("pruned token: %v, want ErrTokenUnknown", err)
	}
}

// TestTokenConcurrent creates tokens while two consumers race for each one:
// the flock makes every token buy exactly one ID, and no creation is lost.
func TestTokenConcurrent(t *testing.T) {
	dir := initCA(t)
	const n = 24
	tokens := make(chan string, n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(tokens)
		for range n {
			tok, err := NewToken(dir, idFront, 0)
			if err != nil {
				t.Error(err)
				return
			}
			tokens <- tok
		}
	}()
	var mu sync.Mutex
	wins := map[string]int{}
	for tok := range tokens {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := ConsumeToken(dir, tok, time.Now())
				switch {
				case err == nil && id == idFront:
					mu.Lock()
					wins[tok]++
					mu.Unlock()
				case errors.Is(err, ErrTokenUsed):
				default:
					t.Errorf("ConsumeToken: %q, %v", id, err)
				}
			}()
		}
	}
	wg.Wait()
	if len(wins) != n {
		t.Fatalf("%d tokens consumed, want %d", len(wins), n)
	}
	for tok, w := range wins {
		if w != 1 {
			t.Errorf("token %s consumed %d times", tok[:12], w)
		}
	}
}
