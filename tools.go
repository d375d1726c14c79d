//go:build tools

// This file pins the module's direct dependencies while the packages that use
// them are being written, so `go mod tidy` keeps them. Remove an import here
// once a real package imports it.
package tools

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/gohcl"
	_ "github.com/hashicorp/memberlist"
	_ "github.com/hashicorp/yamux"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/pflag"
	_ "github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	_ "github.com/spiffe/go-spiffe/v2/spiffeid"
	_ "github.com/spiffe/go-spiffe/v2/svid/x509svid"
)
