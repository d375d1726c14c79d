package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ztunnel-dev/ztunnel/agent"
	"github.com/ztunnel-dev/ztunnel/config"
)

// Exit codes of `ztunnel agent` (DESIGN §9 and the drain rule of the
// operations issue).
const (
	exitClean   = 0 // stopped, every stream finished
	exitStartup = 1 // config or startup error, or streams cut by the drain timeout
	exitFatal   = 2 // fatal runtime error
)

func runAgent(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("agent", "agent --config FILE", stderr)
	path := fs.StringP("config", "c", "", "agent config file (HCL)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if !required(fs, stderr, "config") || !noArgs(fs, stderr) {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitStartup
	}
	a, err := agent.New(cfg, agent.Options{LogOutput: stderr, Version: version, SetProcs: true})
	if err != nil {
		return fail(stderr, err)
	}
	log := a.Logger()

	// Subscribe before Start so that a signal during start-up is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Start(ctx); err != nil {
		log.Error("start failed", "error", err)
		a.Close()
		return exitStartup
	}

	return loop(a, sigs)
}

// loop is the one place the running agent is driven from (STYLE §7): SIGHUP
// reloads, SIGTERM/SIGINT drain, and a fatal runtime error stops the agent
// with exit code 2.
func loop(a *agent.Agent, sigs <-chan os.Signal) int {
	log := a.Logger()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				_ = a.Reload("signal")
				continue
			}
			// The config in force: a reload may have changed shutdown_timeout.
			timeout := a.Config().ShutdownTimeout
			log.Info("signal received, draining", "signal", sig.String(), "timeout", timeout.String())
			return drain(a, timeout, sigs)
		case err := <-a.Fatal():
			log.Error("fatal runtime error, stopping", "error", err)
			a.Close()
			return exitFatal
		}
	}
}

// drain shuts the agent down within timeout; a second SIGTERM or SIGINT
// forces an immediate stop.
func drain(a *agent.Agent, timeout time.Duration, sigs <-chan os.Signal) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	type result struct {
		cut int
		err error
	}
	done := make(chan result, 1)
	go func() {
		cut, err := a.Shutdown(ctx)
		done <- result{cut, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil || r.cut > 0 {
				return exitStartup
			}
			return exitClean
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				continue
			}
			a.Logger().Warn("second signal, stopping now", "signal", sig.String())
			cancel()
			a.Close()
			return exitStartup
		}
	}
}
