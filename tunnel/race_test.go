//go:build race

package tunnel

// raceEnabled: the test binary runs under the race detector (about 10x
// slower), so the longest tests scale down.
const raceEnabled = true
