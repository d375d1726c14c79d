package agent

import (
	"os"
	"runtime"
	"strconv"

	"github.com/hashicorp/go-hclog"
)

// How many CPUs the agent runs Go code on (GOMAXPROCS), from max_procs.
//
// Why not all of them, as Go does by default: the agent shares its host
// with the applications whose bytes it carries, and every hop of a proxied
// byte hands it between goroutines (yamux's send and receive loops, the
// copy loops). With a P per CPU each hand-off tends to wake an idle thread
// on another CPU; with fewer Ps it runs on the same thread. On this
// project's 2-core benchmark host one P instead of two cut the echo p50
// from 289 to 147 µs and CPU per GB by 17%, and raised throughput by 12%
// (1 stream) and 19% (8 streams): see README "Performance". Half of the
// CPUs still lets many streams use several cores on a larger host.

// defaultProcs is GOMAXPROCS as Go set it at process start (the CPUs the
// process may use, cgroup limits included), read before we change it.
var defaultProcs = runtime.GOMAXPROCS(0)

// procsFor returns the GOMAXPROCS for max_procs = maxProcs when Go's
// default is def, and what decided it.
func procsFor(maxProcs, def int, env string) (n int, source string) {
	if v, err := strconv.Atoi(env); err == nil && v > 0 {
		return v, envProcs
	}
	if maxProcs > 0 {
		return maxProcs, "max_procs"
	}
	return max(1, def/2), "max_procs = 0: half the CPUs"
}

// envProcs names the source when GOMAXPROCS is set in the environment.
const envProcs = "GOMAXPROCS environment variable"

// applyProcs sets GOMAXPROCS from maxProcs; it logs the choice at start
// and whenever a reload changes it. A GOMAXPROCS environment variable is
// left as Go applied it.
func applyProcs(maxProcs int, log hclog.Logger, start bool) {
	n, source := procsFor(maxProcs, defaultProcs, os.Getenv("GOMAXPROCS"))
	if source != envProcs {
		if runtime.GOMAXPROCS(n) == n && !start {
			return
		}
	} else if !start {
		return
	}
	log.Info("CPUs running Go code", "procs", n, "set_by", source)
}
