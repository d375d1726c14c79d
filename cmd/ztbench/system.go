package main

// system is one path under test: the app connects to Echo or Sink, and the
// path forwards to the in-process backends.
type system struct {
	Name string
	Echo string // address the app dials for the echo backend
	Sink string // address the app dials for the sink backend
	// Admin lists the agents' admin addresses (ztunnel only), for pprof.
	Admin map[string]string

	specs []procSpec // the processes of the path, started in this order
	procs []*proc    // the running processes, as started by start
}

// procSpec says how to start one process of a system and how to tell that
// it is ready (nil: do not wait).
type procSpec struct {
	name, log, bin string
	args           []string
	env            []string // added to our environment
	ready          func() error
}

func directSystem(b *backends) *system {
	return &system{Name: "direct", Echo: b.EchoAddr(), Sink: b.SinkAddr()}
}

// PIDs are the processes whose RSS counts as the path's memory (none for
// direct TCP).
func (s *system) PIDs() []int {
	pids := make([]int, len(s.procs))
	for i, p := range s.procs {
		pids[i] = p.PID()
	}
	return pids
}

// start (re)starts the system's processes in order, waiting for each to be
// ready, then waits until an echo round trip goes through the path.
func (s *system) start() error {
	s.Stop()
	if len(s.specs) == 0 {
		return nil
	}
	for _, sp := range s.specs {
		pr, err := startProc(sp.name, sp.log, sp.bin, sp.env, sp.args...)
		if err != nil {
			s.Stop()
			return err
		}
		s.procs = append(s.procs, pr)
		if sp.ready != nil {
			if err := pr.waitReady(sp.ready); err != nil {
				s.Stop()
				return err
			}
		}
	}
	if err := s.procs[len(s.procs)-1].waitReady(s.warm); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// Stop stops the system's processes, last started first.
func (s *system) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop()
	}
	s.procs = nil
}

// warm does one echo round trip through s, so that sessions, handshakes
// and caches exist before anything is measured.
func (s *system) warm() error {
	c, err := roundTrip(s.Echo)
	if err != nil {
		return err
	}
	return c.Close()
}
