package enroll

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ztunnel-dev/ztunnel/identity"
	"github.com/ztunnel-dev/ztunnel/identity/ca"
)

func TestEnsureEnrollsThenReusesStoredPair(t *testing.T) {
	c := newTestCA(t, time.Hour)
	cfg := c.config(idFront, c.token(idFront, 0))
	cl := newClient(t, cfg)
	if err := cl.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	for _, f := range []string{cfg.CertFile, cfg.KeyFile} {
		st, err := os.Stat(f)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want 0600", f, err, st.Mode())
		}
	}
	store, err := identity.NewStore(identity.StoreConfig{
		TrustDomain: td, BundleFile: cfg.TrustBundle,
		Workloads: []identity.WorkloadConfig{{ID: idFront, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}},
	})
	if err != nil {
		t.Fatalf("identity.NewStore on the enrolled files: %v", err)
	}
	serial := store.Current(idFront).Serial
	if st := cl.Status(); st.Serial != serial || st.ServerReachable != true {
		t.Fatalf("Status = %+v, want serial %s and a reachable server", st, serial)
	}

	// A restart: the token file is gone (and used); the stored pair is used.
	if err := os.Remove(cfg.TokenFile); err != nil {
		t.Fatal(err)
	}
	again := newClient(t, cfg)
	if err := again.Ensure(context.Background()); err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if got := again.Status().Serial; got != serial {
		t.Fatalf("second Ensure uses serial %s, want the stored %s", got, serial)
	}
}

func TestEnsureRefusals(t *testing.T) {
	c := newTestCA(t, time.Hour)
	used := c.token(idFront, 0)
	if err := newClient(t, c.config(idFront, used)).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	expired := c.token(idFront, time.Millisecond)
	wrongID := c.token(idFront, 0)
	time.Sleep(5 * time.Millisecond)
	srv := func(code, msg string) error {
		return &ServerError{Op: "enrollment", Server: c.addr, Status: 403, Code: code, Message: msg}
	}
	noToken := c.config(idFront, "")
	noToken.TokenFile = filepath.Join(t.TempDir(), "missing.token")
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{name: "used token", cfg: c.config(idFront, used), want: srv(ca.CodeTokenUsed, "the join token was already used")},
		{name: "expired token", cfg: c.config(idFront, expired), want: srv(ca.CodeTokenExpired, "the join token has expired")},
		{name: "unknown token", cfg: c.config(idFront, "ztjoin1.bogus"), want: srv(ca.CodeTokenUnknown, "the join token is unknown to this CA")},
		// The token was made for frontend: the server refuses it for
		// payments and leaves it unused (checked below).
		{name: "token for another ID", cfg: c.config(idPay, wrongID),
			want: srv(ca.CodeTokenWrongID, `the join token was made for another ID: it is for "`+idFront+`", the request names "`+idPay+`"; it is still unused`)},
		{name: "no token file", cfg: noToken,
			want: errors.New(`enroll: no join token: token file "` + noToken.TokenFile + `" cannot be read: no such file or directory`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newClient(t, tt.cfg).Ensure(context.Background())
			if errString(err) != errString(tt.want) {
				t.Fatalf("Ensure = %q\nwant     %q", errString(err), errString(tt.want))
			}
			var se *ServerError
			if want, ok := tt.want.(*ServerError); ok && (!errors.As(err, &se) || *se != *want) {
				t.Fatalf("Ensure = %#v, want %#v", err, want)
			}
			if _, err := os.Stat(tt.cfg.CertFile); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused enrollment left a certificate file: %v", err)
			}
		})
	}
	// The token refused for payments still buys frontend its certificate.
	if err := newClient(t, c.config(idFront, wrongID)).Ensure(context.Background()); err != nil {
		t.Fatalf("the token refused for another ID was burnt: %v", err)
	}
}

func TestEnsureReenrollsWhenStoredPairExpired(t *testing.T) {
	c := newTestCA(t, 2*time.Second) // NotAfter has whole seconds: 2s leaves at least 1s
	cfg := c.config(idFront, c.token(idFront, 0))
	if err := newClient(t, cfg).Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := diskLeaf(t, cfg.CertFile)
	time.Sleep(time.Until(first.NotAfter) + 50*time.Millisecond)

	// The used token cannot buy another certificate: the error names both problems.
	err := newClient(t, cfg).Ensure(context.Background())
	want := "enroll: the CA server at " + c.addr + " refused the enrollment: the join token was already used, and the stored certificate file \"" + cfg.CertFile + "\" cannot be used: it expired at " + first.NotAfter.UTC().Format(time.RFC3339)
	if errString(err) != want {
		t.Fatalf("Ensure with an expired pair and a used token = %q\nwant %q", errString(err), want)
	}
	// A new token does.
	if err := os.WriteFile(cfg.TokenFile, []byte(c.token(idFront, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newClient(t, cfg).Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure with a new token: %v", err)
	}
	if diskLeaf(t, cfg.CertFile).Equal(first) {
		t.Fatal("the expired certificate is still stored")
	}
}

func TestEnsureRequiresCAServerID(t *testing.T) {
	c := newTestCA(t, time.Hour)
	c.stop()
	// An impostor with a valid certificate of the trust domain, but not the
	// CA server's ID, on the CA server's address.
	prefix := filepath.Join(t.TempDir(), "impostor")
	if _, _, err := ca.Issue(c.dir, "spiffe://example.org/ns/prod/sa/impostor", prefix, 0); err != nil {
		t.Fatal(err)
	}
	startImpostor(t, c.addr, prefix+".crt", prefix+".key")
	err := newClient(t, c.config(idFront, c.token(idFront, 0))).Ensure(context.Background())
	want := `enroll: the CA server at ` + c.addr + ` cannot be reached for the enrollment: its certificate is refused: it is for "spiffe://example.org/ns/prod/sa/impostor", not "spiffe://example.org/ztunnel/ca-server"`
	if errString(err) != want {
		t.Fatalf("Ensure = %q\nwant     %q", errString(err), want)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Server: "127.0.0.1:8200", TrustBundle: "ca.crt", TrustDomain: td, ID: idFront, CertFile: "w.crt", KeyFile: "w.key"}
	mod := func(f func(*Config)) Config { c := good; f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "ok", cfg: good},
		{name: "no server", cfg: mod(func(c *Config) { c.Server = "" }), want: "enroll: bad config: the server is empty"},
		{name: "server without port", cfg: mod(func(c *Config) { c.Server = "ca.example.org" }), want: `enroll: bad config: server "ca.example.org" is not host:port`},
		{name: "root ID", cfg: mod(func(c *Config) { c.ID = "spiffe://example.org" }), want: `enroll: bad config: SPIFFE ID "spiffe://example.org" has no path: a workload ID needs one`},
		{name: "other trust domain", cfg: mod(func(c *Config) { c.ID = "spiffe://other.org/w" }), want: `enroll: bad config: ID "spiffe://other.org/w" is not in trust domain "example.org"`},
		{name: "same files", cfg: mod(func(c *Config) { c.KeyFile = c.CertFile }), want: `enroll: bad config: the certificate and key files are the same file "w.crt"`},
		{name: "negative backoff", cfg: mod(func(c *Config) { c.MinBackoff = -1 }), want: "enroll: bad config: timeouts and back-off cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); errString(err) != tt.want {
				t.Fatalf("Validate = %q, want %q", errString(err), tt.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	crt, key := Paths("/var/lib/ztunnel", "reports")
	if crt != "/var/lib/ztunnel/reports.crt" || key != "/var/lib/ztunnel/reports.key" {
		t.Fatalf("Paths = %q, %q", crt, key)
	}
}
