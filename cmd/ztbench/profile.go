package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// fetch GETs url into file.
func fetch(url, file string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileZtunnel runs each timed phase once more on ztunnel alone for
// o.ProfileTime while both agents take a CPU profile; then holds the idle
// connections while it saves their heap and goroutine profiles; finally it
// saves each agent's cumulative allocation profile. Files are named
// AGENT-PHASE.KIND.pprof in o.ProfileDir.
func profileZtunnel(o *options, s *system, logf func(string, ...any)) error {
	if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
		return err
	}
	d := o.ProfileTime
	secs := int(d / time.Second)
	timed := []struct {
		name string
		run  func() error
	}{
		{"bulk1", func() error { _, _, err := throughput(s.Sink, 1, d); return err }},
		{fmt.Sprintf("bulk%d", o.Streams), func() error { _, _, err := throughput(s.Sink, o.Streams, d); return err }},
		{"latency", func() error { _, err := latency(s.Echo, d); return err }},
		{"connrate", func() error { _, _, _, err := connRate(s.Echo, o.Clients, d); return err }},
	}
	for _, ph := range timed {
		logf("profiling ztunnel: %s (%ds)", ph.name, secs)
		var wg sync.WaitGroup
		errs := make(chan error, len(s.Admin))
		for agent, admin := range s.Admin {
			wg.Go(func() {
				url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", admin, secs)
				errs <- fetch(url, filepath.Join(o.ProfileDir, agent+"-"+ph.name+".cpu.pprof"), d+30*time.Second)
			})
		}
		time.Sleep(100 * time.Millisecond) // the profiles have started
		err := ph.run()
		wg.Wait()
		close(errs)
		if err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		for e := range errs {
			if e != nil {
				return e
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	logf("profiling ztunnel: %d idle connections (heap, goroutines)", o.IdleConns)
	var heldErr error
	kib, err := idleConns(s.Echo, o.IdleConns, s.PIDs(), o.IdleSettle, func() {
		for agent, admin := range s.Admin {
			for _, kind := range []string{"debug/pprof/heap", "debug/pprof/goroutine", "metrics"} {
				url := fmt.Sprintf("http://%s/%s", admin, kind)
				file := filepath.Join(o.ProfileDir, agent+"-idle."+filepath.Base(kind)+".pprof")
				if kind == "metrics" {
					file = filepath.Join(o.ProfileDir, agent+"-idle.metrics.txt")
				}
				if e := fetch(url, file, 30*time.Second); e != nil && heldErr == nil {
					heldErr = e
				}
			}
		}
	})
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if heldErr != nil {
		return heldErr
	}
	logf("profiling ztunnel: idle connections cost %.1f KiB RSS each (both agents)", kib)
	time.Sleep(time.Second)
	for agent, admin := range s.Admin {
		url := fmt.Sprintf("http://%s/debug/pprof/allocs", admin)
		if err := fetch(url, filepath.Join(o.ProfileDir, agent+".allocs.pprof"), 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}
