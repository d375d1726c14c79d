# The example of DESIGN §5, verbatim but for a real pin.
node_name  = "host-a"            # default: hostname
data_dir   = "/var/lib/ztunnel"  # state the agent keeps (enrolled certificates, ...)
log_level  = "info"              # trace|debug|info|warn|error
log_format = "text"              # text|json

trust {
  trust_domain = "example.org"   # peers from other trust domains are refused
  bundle       = "/etc/ztunnel/pki/ca.crt"
  crls         = ["/etc/ztunnel/pki/ca.crl"]   # optional
  revocation   = "fail_closed"   # stale/unreadable CRL: fail_closed (default) | fail_open
}

tunnel {
  listen    = "0.0.0.0:15008"
  advertise = "10.0.0.1:15008"   # what gossip tells peers; default derived from listen
  handshake_timeout = "10s"
}

shutdown_timeout = "30s"         # drain limit on SIGTERM

gossip {                         # optional; without it only `peer` blocks are used
  listen    = "0.0.0.0:7946"
  advertise = "10.0.0.1:7946"
  join      = ["10.0.0.2:7946"]
  key_file  = "/etc/ztunnel/gossip.key"   # base64 32-byte key, see `ztunnel keygen`
}

admin {
  listen = "127.0.0.1:15000"
}

policy {
  file = "/etc/ztunnel/policy.hcl"
}

workload "frontend" {
  id   = "spiffe://example.org/ns/prod/sa/frontend"
  cert = "/etc/ztunnel/pki/frontend.crt"
  key  = "/etc/ztunnel/pki/frontend.key"

  upstream "payments" {          # a local port that reaches a remote workload
    listen = "127.0.0.1:9001"
    target = "spiffe://example.org/ns/prod/sa/payments"
    port   = 8443                # target's exposed port; optional when it exposes one
    pin    = ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]      # optional SPKI pins of the target's key
  }
}

workload "payments" {
  id   = "spiffe://example.org/ns/prod/sa/payments"
  cert = "/etc/ztunnel/pki/payments.crt"
  key  = "/etc/ztunnel/pki/payments.key"

  expose {                       # accept tunnel streams for this workload
    port    = 8443
    backend = "127.0.0.1:8443"
  }
}

workload "reports" {             # certificate from the CA server instead of files
  id = "spiffe://example.org/ns/prod/sa/reports"
  enroll {
    server     = "10.0.0.9:8200"          # `ztunnel ca serve`
    token_file = "/etc/ztunnel/reports.token"   # one-time token, `ztunnel ca token`
  }
}

peer "host-b" {                  # static discovery, no gossip needed
  address   = "10.0.0.2:15008"
  workloads = ["spiffe://example.org/ns/prod/sa/payments"]
}
