package agent

import (
	"net"
	"os"
	"strconv"
	"time"
)

// notifier speaks systemd's sd_notify protocol: datagrams such as "READY=1"
// to the unix socket named by $NOTIFY_SOCKET. Without that variable (not
// started by systemd with Type=notify) every call is a no-op.
type notifier struct {
	addr string
}

func newNotifier() *notifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	if len(addr) > 0 && addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract namespace
	}
	return &notifier{addr: addr}
}

// Notify sends state; failures are returned for logging, never fatal.
func (n *notifier) Notify(state string) error {
	if n.addr == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}

// watchdogInterval returns half of $WATCHDOG_USEC (how often to send
// WATCHDOG=1), or 0 when systemd asked for no watchdog or asked it of
// another process ($WATCHDOG_PID).
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}
