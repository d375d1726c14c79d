# Agent config for "host-b" in the demo (`make demo`). Host B runs the
# payments workload, whose backend listens on a local port only.
# Relative paths are relative to this file's folder.

node_name  = "host-b"         # name in logs, status and gossip (default: hostname)
data_dir   = "state-b"        # state the agent keeps (default /var/lib/ztunnel)
log_level  = "info"           # trace | debug | info | warn | error
log_format = "text"           # text | json

trust {
  trust_domain = "demo.ztunnel.dev"   # peers from any other trust domain are refused
  bundle       = "pki/ca.crt"         # CA certificates we trust
  crls         = ["pki/ca.crl"]       # revocation lists, reloaded when they change
}

tunnel {
  listen    = "127.0.0.1:25009"  # inbound mutual-TLS tunnel port
  advertise = "127.0.0.1:25009"  # what peers are told to dial
}

shutdown_timeout = "10s"      # on SIGTERM, open streams get this long to finish

admin {
  listen = "127.0.0.1:25001"  # loopback HTTP API
}

policy {
  file = "policy.hcl"         # decides every inbound stream before the backend is dialled
}

workload "payments" {
  id   = "spiffe://demo.ztunnel.dev/ns/prod/sa/payments"
  cert = "pki/payments.crt"
  key  = "pki/payments.key"

  expose {
    port    = 8443              # the port callers name
    backend = "127.0.0.1:28443" # where accepted streams go
  }
}
