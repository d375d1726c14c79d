package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Client talks to an agent's admin API; the CLI's `status` and `members`
// use it.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient returns a client for addr: host:port or a unix socket path.
func NewClient(addr string) *Client {
	tr := &http.Transport{}
	base := "http://" + addr
	if strings.HasPrefix(addr, "/") {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}
		base = "http://unix"
	}
	return &Client{base: base, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Get decodes the JSON document at path into v.
func (c *Client) Get(path string, v any) error {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		return fmt.Errorf("admin: cannot reach the agent's admin API: %w", err)
	}
	defer resp.Body.Close()
	return decode(resp, v)
}

// Post sends an empty POST to path and decodes the JSON answer into v.
func (c *Client) Post(path string, v any) error {
	resp, err := c.hc.Post(c.base+path, "application/json", nil)
	if err != nil {
		return fmt.Errorf("admin: cannot reach the agent's admin API: %w", err)
	}
	defer resp.Body.Close()
	return decode(resp, v)
}

func decode(resp *http.Response, v any) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin: read answer: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("admin: %s answered %s with something that is not JSON", resp.Request.URL.Path, resp.Status)
	}
	return nil
}
