# Every key of DESIGN §5 and its extensions, with absolute paths so that
# the golden output does not depend on where the test runs.
node_name        = "host-a"
data_dir         = "/var/lib/ztunnel-test"
log_level        = "debug"
log_format       = "json"
shutdown_timeout = "90s"

trust {
  trust_domain = "example.org"
  bundle       = "/etc/ztunnel/pki/ca.crt"
  crls         = ["/etc/ztunnel/pki/ca.crl", "/etc/ztunnel/pki/old.crl"]
  revocation   = "fail_open"
}

tunnel {
  listen               = "0.0.0.0:15008"
  advertise            = "10.0.0.1:15008"
  handshake_timeout    = "10000ms"
  max_handshakes       = 64
  streams_per_session  = 100
  sessions_per_peer    = 2
  conns_per_upstream   = 1000
  dial_timeout         = "3s"
  backend_dial_timeout = "1s"
}

gossip {
  listen    = "0.0.0.0:7946"
  advertise = "10.0.0.1:7946"
  join      = ["10.0.0.2:7946", "gossip.example.org:7946"]
  key_file  = "/etc/ztunnel/gossip.key"
}

admin {
  listen = "[::1]:15000"
  pprof  = true
  metrics_listen = "0.0.0.0:9100"  # any address: it serves only /metrics, /healthz, /readyz
}

policy {
  file = "/etc/ztunnel/policy.hcl"
}

workload "frontend" {
  id   = "spiffe://example.org/ns/prod/sa/frontend"
  cert = "/etc/ztunnel/pki/frontend.crt"
  key  = "/etc/ztunnel/pki/frontend.key"

  upstream "payments" {
    listen = "127.0.0.1:9001"
    target = "spiffe://example.org/ns/prod/sa/payments"
    port   = 8443
    pin    = ["sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
  }

  upstream "reports" {
    listen = "127.0.0.1:9002"
    target = "spiffe://example.org/ns/prod/sa/reports"
  }
}

workload "payments" {
  id   = "spiffe://example.org/ns/prod/sa/payments"
  cert = "/etc/ztunnel/pki/payments.crt"
  key  = "/etc/ztunnel/pki/payments.key"

  expose {
    port    = 8443
    backend = "127.0.0.1:8443"
  }

  expose {
    port    = 9090
    backend = "localhost:9090"
  }
}

workload "reports" {
  id = "spiffe://example.org/ns/prod/sa/reports"
  enroll {
    server     = "10.0.0.9:8200"
    token_file = "/etc/ztunnel/reports.token"
  }
}

peer "host-b" {
  address   = "10.0.0.2:15008"
  workloads = ["spiffe://example.org/ns/prod/sa/payments"]
}
