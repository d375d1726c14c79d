package tunnel

import "testing"

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
