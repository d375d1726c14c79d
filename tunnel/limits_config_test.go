package tunnel

import (
	"testing"
	"time"
)

// TestDerivedLimits: the per-IP handshake share and the per-peer pending
// quota follow the other limits unless set.
func TestDerivedLimits(t *testing.T) {
	for _, tc := range []struct {
		name                string
		cfg                 Config
		perIP, perPeer, all int
	}{
		{"defaults", DefaultConfig(), 64, 1024, 4096},
		{"small", Config{MaxHandshakes: 2, StreamsPerSession: 4, MaxStreams: 16}, 1, 4, 16},
		{"set", Config{MaxHandshakes: 8, HandshakesPerIP: 8, StreamsPerSession: 4, MaxStreams: 16, PendingPerPeer: 12}, 8, 12, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.handshakesPerIP(); got != tc.perIP {
				t.Errorf("handshakesPerIP = %d, want %d", got, tc.perIP)
			}
			if got := tc.cfg.pendingPerPeer(); got != tc.perPeer {
				t.Errorf("pendingPerPeer = %d, want %d", got, tc.perPeer)
			}
			if got := tc.cfg.maxPending(); got != tc.all {
				t.Errorf("maxPending = %d, want %d", got, tc.all)
			}
		})
	}
}

// TestLogEvery: a repeated refusal logs once per quotaLogEvery and then
// says how many lines it kept quiet.
func TestLogEvery(t *testing.T) {
	var l logEvery
	t0 := time.Unix(1000, 0)
	if ok, _ := l.allow(t0); !ok {
		t.Fatal("first refusal not logged")
	}
	for i := range 3 {
		if ok, _ := l.allow(t0.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatal("a refusal within quotaLogEvery was logged")
		}
	}
	if ok, quiet := l.allow(t0.Add(quotaLogEvery)); !ok || quiet != 3 {
		t.Fatalf("after quotaLogEvery: log %v, quiet %d; want true, 3", ok, quiet)
	}
}
