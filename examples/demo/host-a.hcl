# Agent config for "host-a" in the demo (`make demo`). Host A runs two
# workloads that call the payments service on host B through local ports.
# Relative paths are relative to this file's folder.

node_name  = "host-a"         # name in logs, status and gossip (default: hostname)
data_dir   = "state-a"        # state the agent keeps (default /var/lib/ztunnel)
log_level  = "info"           # trace | debug | info | warn | error
log_format = "text"           # text | json

trust {
  trust_domain = "demo.ztunnel.dev"   # peers from any other trust domain are refused
  bundle       = "pki/ca.crt"         # CA certificates we trust (several for CA rotation)
  crls         = ["pki/ca.crl"]       # revocation lists, reloaded when they change
  revocation   = "fail_closed"        # a stale or broken CRL refuses its issuer's certificates
}

tunnel {
  listen            = "127.0.0.1:25008"  # inbound mutual-TLS tunnel port
  advertise         = "127.0.0.1:25008"  # what peers are told to dial
  handshake_timeout = "10s"              # a connection that has not finished TLS by then is closed
}

shutdown_timeout = "10s"      # on SIGTERM, open streams get this long to finish

admin {
  listen = "127.0.0.1:25000"  # loopback HTTP: /v1/status, /readyz, /metrics, POST /v1/reload
}

policy {
  file = "policy.hcl"         # the same policy file on every host
}

# The frontend may call payments: the policy allows it.
workload "frontend" {
  id   = "spiffe://demo.ztunnel.dev/ns/prod/sa/frontend"
  cert = "pki/frontend.crt"
  key  = "pki/frontend.key"

  upstream "payments" {
    listen = "127.0.0.1:29001"                              # the app connects here
    target = "spiffe://demo.ztunnel.dev/ns/prod/sa/payments" # whose certificate must answer
    port   = 8443                                           # the target's exposed port
  }
}

# The batch job is in the dev namespace: the policy denies dev -> prod.
workload "batch" {
  id   = "spiffe://demo.ztunnel.dev/ns/dev/sa/batch"
  cert = "pki/batch.crt"
  key  = "pki/batch.key"

  upstream "payments" {
    listen = "127.0.0.1:29002"
    target = "spiffe://demo.ztunnel.dev/ns/prod/sa/payments"
    port   = 8443
  }
}

# Static discovery: where payments lives (no gossip needed for two hosts).
peer "host-b" {
  address   = "127.0.0.1:25009"
  workloads = ["spiffe://demo.ztunnel.dev/ns/prod/sa/payments"]
}
