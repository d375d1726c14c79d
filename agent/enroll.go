package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/identity/enroll"
)

// withEnrollPaths points every enrolled workload's Cert and Key at where
// its enrollment client stores them (data_dir/<name>.crt/.key), so the
// identity store and the file watcher treat them like any other pair: a
// renewal is a file change. Called on every config load.
func withEnrollPaths(cfg *config.Config) *config.Config {
	out := *cfg
	out.Workloads = append([]config.Workload(nil), cfg.Workloads...)
	for i, w := range out.Workloads {
		if w.Enroll != nil {
			out.Workloads[i].Cert, out.Workloads[i].Key = enroll.Paths(cfg.DataDir, w.Name)
		}
	}
	return &out
}

// startEnrollment makes sure every enrolled workload has a valid
// certificate on disk before the identity store loads (enrolling with its
// token the first time; the key is made here and never leaves the host),
// then renews each in the background until the agent stops.
func (a *Agent) startEnrollment(ctx context.Context, cfg *config.Config) error {
	for _, w := range cfg.Workloads {
		if w.Enroll == nil {
			continue
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("agent: data_dir %s: %w", cfg.DataDir, err)
		}
		ec := enroll.DefaultConfig()
		ec.Server = w.Enroll.Server
		ec.TrustBundle = cfg.Trust.Bundle
		ec.TrustDomain = cfg.Trust.TrustDomain
		ec.ID = w.ID
		ec.TokenFile = w.Enroll.TokenFile
		ec.CertFile, ec.KeyFile = w.Cert, w.Key
		ec.Logger = a.log.Named("enroll").With("workload", w.Name)
		// A renewed pair is reloaded at once rather than at the next file
		// poll, through the one reload path every change takes. The first
		// enrollment (in Ensure, before the store exists) needs no reload.
		ec.OnUpdate = func() {
			if a.ready.Load() {
				_ = a.Reload("renew")
			}
		}
		c, err := enroll.New(ec)
		if err != nil {
			return fmt.Errorf("agent: workload %q: %w", w.Name, err)
		}
		ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = c.Ensure(ectx)
		cancel()
		if err != nil {
			return fmt.Errorf("agent: workload %q: no certificate: %w", w.Name, err)
		}
		a.enrollers[w.Name] = c
	}
	return nil
}

// runEnrollment starts the renewal loops; they end with the agent.
func (a *Agent) runEnrollment() {
	if len(a.enrollers) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		<-a.stop
		cancel()
	}()
	for name, c := range a.enrollers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("certificate renewal stopped", "workload", name, "error", err)
			}
		}()
	}
}

// enrollStatus is the renewal state of workload name, nil if not enrolled.
func (a *Agent) enrollStatus(name string) *enroll.Status {
	c, ok := a.enrollers[name]
	if !ok {
		return nil
	}
	st := c.Status()
	return &st
}
