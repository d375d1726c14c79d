package agent

import (
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
)

// NewLogger returns the agent's root logger. Sub-loggers made with Named
// share its level, so SetLevel on a reload reaches every subsystem.
func NewLogger(w io.Writer, level, format string) hclog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "ztunnel",
		Level:           hclog.LevelFromString(level),
		Output:          w,
		JSONFormat:      format == "json",
		IncludeLocation: false,
		TimeFormat:      "2006-01-02T15:04:05.000Z0700",
	})
}
