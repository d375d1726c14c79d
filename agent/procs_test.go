package agent

import "testing"

func TestProcsFor(t *testing.T) {
	for _, c := range []struct {
		max, def int
		env      string
		want     int
		source   string
	}{
		{0, 2, "", 1, "max_procs = 0: half the CPUs"},
		{0, 1, "", 1, "max_procs = 0: half the CPUs"},
		{0, 16, "", 8, "max_procs = 0: half the CPUs"},
		{0, 3, "", 1, "max_procs = 0: half the CPUs"},
		{4, 2, "", 4, "max_procs"},
		{4, 2, "3", 3, envProcs},
		{0, 8, "junk", 4, "max_procs = 0: half the CPUs"},
		{0, 8, "0", 4, "max_procs = 0: half the CPUs"},
	} {
		n, source := procsFor(c.max, c.def, c.env)
		if n != c.want || source != c.source {
			t.Errorf("procsFor(%d, %d, %q) = %d, %q; want %d, %q", c.max, c.def, c.env, n, source, c.want, c.source)
		}
	}
}
