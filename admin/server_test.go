package admin

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

type fakeBackend struct {
	notReady  error
	reloadErr error
	reloads   atomic.Int32
}

func (f *fakeBackend) Status() any  { return map[string]string{"node": "n1"} }
func (f *fakeBackend) Tunnels() any { return []string{"t1"} }
func (f *fakeBackend) Members() any { return []string{"m1"} }
func (f *fakeBackend) Ready() error { return f.notReady }
func (f *fakeBackend) Reload() error {
	f.reloads.Add(1)
	return f.reloadErr
}

func startServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestValidateRefusesNonLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen, want string
	}{
		{"0.0.0.0:15000", `admin: listen "0.0.0.0:15000" is not a loopback address; the admin API must not be reachable from the network`},
		{"10.1.2.3:15000", `admin: listen "10.1.2.3:15000" is not a loopback address; the admin API must not be reachable from the network`},
		{"nonsense", `admin: listen "nonsense" is neither host:port nor an absolute unix socket path`},
		{"127.0.0.1:0", ""},
		{"[::1]:0", ""},
		{"/run/ztunnel/admin.sock", ""},
	} {
		t.Run(tc.listen, func(t *testing.T) {
			cfg := Config{Listen: tc.listen, Backend: &fakeBackend{}}
			err := cfg.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	fb := &fakeBackend{}
	s := startServer(t, Config{Listen: "127.0.0.1:0", Backend: fb,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ztunnel_up 1\n")) })})
	c := NewClient(s.Addr().String())

	var st map[string]string
	if err := c.Get("/v1/status", &st); err != nil || st["node"] != "n1" {
		t.Fatalf("status: %v %v", st, err)
	}
	var res Result
	if err := c.Get("/readyz", &res); err != nil || !res.OK {
		t.Fatalf("readyz: %+v %v", res, err)
	}
	fb.notReady = errors.New("workload \"a\" certificate is expired")
	resp, err := http.Get("http://" + s.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz when not ready: %d", resp.StatusCode)
	}
	fb.reloadErr = errors.New("policy: bad")
	if err := c.Post("/v1/reload", &res); err != nil || res.OK || res.Error != "policy: bad" {
		t.Fatalf("reload: %+v %v", res, err)
	}
	if fb.reloads.Load() != 1 {
		t.Fatalf("reloads = %d", fb.reloads.Load())
	}
	// GET on the reload endpoint must not reload.
	resp, err = http.Get("http://" + s.Addr().String() + "/v1/reload")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || fb.reloads.Load() != 1 {
		t.Fatalf("GET /v1/reload: %d, reloads %d", resp.StatusCode, fb.reloads.Load())
	}
	resp, err = http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	// pprof is off unless enabled.
	resp, err = http.Get("http://" + s.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("pprof should be off: %d", resp.StatusCode)
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	startServer(t, Config{Listen: sock, Backend: &fakeBackend{}, Pprof: true})
	c := NewClient(sock)
	var m []string
	if err := c.Get("/v1/members", &m); err != nil || len(m) != 1 {
		t.Fatalf("members over unix socket: %v %v", m, err)
	}
}

func TestClientUnreachable(t *testing.T) {
	err := NewClient("127.0.0.1:1").Get("/v1/status", &struct{}{})
	if err == nil || !strings.HasPrefix(err.Error(), "admin: cannot reach the agent's admin API") {
		t.Fatalf("got %v", err)
	}
}

// TestMetricsListener: admin.metrics_listen serves only the read-only
// endpoints; the API that can reload or describe the agent is not there.
func TestMetricsListener(t *testing.T) {
	b := &fakeBackend{}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ztunnel_ready 1\n")) })
	s := startServer(t, Config{Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", Backend: b, Metrics: metrics})
	if s.MetricsAddr() == nil || s.MetricsAddr().String() == s.Addr().String() {
		t.Fatalf("metrics listener %v, API %v", s.MetricsAddr(), s.Addr())
	}
	base := "http://" + s.MetricsAddr().String()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/metrics", http.StatusOK},
		{"GET", "/healthz", http.StatusOK},
		{"GET", "/readyz", http.StatusOK},
		{"GET", "/v1/status", http.StatusNotFound},
		{"GET", "/v1/members", http.StatusNotFound},
		{"POST", "/v1/reload", http.StatusNotFound},
		{"GET", "/debug/pprof/", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s on the metrics listener: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	if b.reloads.Load() != 0 {
		t.Fatal("the metrics listener reloaded the agent")
	}
	// Both stop on Close.
	addr := s.MetricsAddr().String()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Fatal("the metrics listener still answers after Close")
	}
}
