package agent

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ztunnel-dev/ztunnel/admin"
	"github.com/ztunnel-dev/ztunnel/config"
	"github.com/ztunnel-dev/ztunnel/tunnel"
)

// placeListenError rewrites a listener that could not be bound as one
// sentence that names where its address is set in the config, e.g.
// `ztunnel.hcl:12:3: tunnel.listen: 127.0.0.1:15008 is already in use by
// another program`. Other errors are returned as they are.
func placeListenError(cfg *config.Config, err error) error {
	var key, addr string
	var te *tunnel.ListenError
	var ae *admin.ListenError
	switch {
	case errors.As(err, &te) && te.Upstream == "":
		key, addr = "tunnel.listen", te.Addr
	case errors.As(err, &te):
		key, addr = "upstream "+te.Upstream+" listen", te.Addr
		for _, w := range cfg.Workloads {
			if w.ID == te.Source {
				key = "workload." + w.Name + ".upstream." + te.Upstream + ".listen"
			}
		}
	case errors.As(err, &ae) && ae.Metrics:
		key, addr = "admin.metrics_listen", ae.Addr
	case errors.As(err, &ae):
		key, addr = "admin.listen", ae.Addr
	default:
		return err
	}
	return listenProblem(cfg, key, addr, err)
}

// listenProblem says why addr, set at key, could not be bound.
func listenProblem(cfg *config.Config, key, addr string, err error) error {
	var why string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = addr + " is already in use by another program"
	case errors.Is(err, syscall.EACCES):
		why = addr + " may not be bound by this user (a port under 1024 needs CAP_NET_BIND_SERVICE)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = addr + " is not an address of this host"
	default:
		why = fmt.Sprintf("cannot listen on %s: %v", addr, errors.Unwrap(err))
	}
	return fmt.Errorf("%s: %s: %s", cfg.Where(key), key, why)
}
