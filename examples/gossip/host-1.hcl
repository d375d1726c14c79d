# Host 1 of a three-host mesh found by gossip alone (no peer blocks).
# Hosts: 10.0.0.1, 10.0.0.2, 10.0.0.3. Open 15008/tcp (tunnel) and
# 7946/tcp+udp (gossip) between them.

node_name = "host-1"

trust {
  trust_domain = "example.org"
  bundle       = "pki/ca.crt"
  crls         = ["pki/ca.crl"]
}

tunnel {
  listen    = "0.0.0.0:15008"
  advertise = "10.0.0.1:15008"   # what gossip tells the others to dial
}

gossip {
  listen    = "0.0.0.0:7946"
  advertise = "10.0.0.1:7946"    # always explicit: never trust a guess
  join      = ["10.0.0.1:7946", "10.0.0.2:7946", "10.0.0.3:7946"]  # any one is enough; retried
  key_file  = "gossip.key"        # same key(s) on every host: ztunnel keygen > gossip.key
}

admin {
  listen = "127.0.0.1:15000"
}

policy {
  file = "policy.hcl"
}

workload "payments" {
  id   = "spiffe://example.org/ns/prod/sa/payments"
  cert = "pki/payments.crt"
  key  = "pki/payments.key"
  expose {
    port    = 8443
    backend = "127.0.0.1:8443"
  }
}
