# /etc/ztunnel/ztunnel.hcl: the agent's config. Check it with
#   ztunnel validate --config /etc/ztunnel/ztunnel.hcl --print
# Relative paths are relative to this folder. Unknown keys are errors.

# node_name  = "host-a"            # default: the hostname
data_dir   = "/var/lib/ztunnel"    # enrolled certificates and other state
log_level  = "info"                # trace | debug | info | warn | error
log_format = "text"                # text | json (one JSON object per line)
shutdown_timeout = "30s"           # drain limit on SIGTERM
# max_procs = 0                    # CPUs running Go code; 0 = half the CPUs (README "Performance")

trust {
  trust_domain = "example.org"     # peers of any other trust domain are refused
  bundle       = "pki/ca.crt"      # CA certificates (two during a CA rotation)
  crls         = ["pki/ca.crl"]    # revocation lists, reloaded when they change
  revocation   = "fail_closed"     # stale/unreadable CRL: fail_closed | fail_open
}

tunnel {
  listen    = "0.0.0.0:15008"      # the only port peers need to reach
  # advertise = "10.0.0.1:15008"   # what gossip tells peers; default from listen
  handshake_timeout = "10s"        # unfinished TLS handshakes are closed after this
  # Limits (defaults shown):
  # max_handshakes       = 256     # concurrent inbound handshakes
  # max_handshakes_per_ip = 64     #   of them from one source IP (raise for many peers behind one NAT)
  # streams_per_session  = 512     # then another session to the same peer opens
  # sessions_per_peer    = 8
  # conns_per_upstream   = 4096    # accepted local connections per upstream
  # max_streams          = 4096    # open streams, all sessions: memory bound is
  # stream_window        = 1048576 #   max_streams x stream_window (bytes per stream)
  # pending_streams_per_peer = 1024 # one peer's streams that have not sent their header
  # dial_timeout         = "5s"    # TCP + TLS + tunnel confirmation to a peer
  # backend_dial_timeout = "5s"
}

admin {
  listen = "127.0.0.1:15000"       # loopback only, or a unix socket path
  # pprof = false                  # /debug/pprof/ when true
  # metrics_listen = "0.0.0.0:9100" # any address: only /metrics, /healthz, /readyz
}

policy {
  file = "policy.hcl"              # same file on every host
}

# One block per local workload. Issue its certificate with
#   ztunnel cert issue --ca DIR --id spiffe://example.org/ns/prod/sa/web --out pki/web
#
# workload "web" {
#   id   = "spiffe://example.org/ns/prod/sa/web"
#   cert = "pki/web.crt"
#   key  = "pki/web.key"
#
#   upstream "api" {                          # a local port reaching a remote workload
#     listen = "127.0.0.1:9001"
#     target = "spiffe://example.org/ns/prod/sa/api"
#     port   = 8443                           # optional when the target exposes one port
#     # pin  = ["sha256/..."]                 # optional SPKI pins (ztunnel cert inspect)
#   }
#
#   expose {                                  # accept tunnel streams for this workload
#     port    = 8080
#     backend = "127.0.0.1:8080"
#   }
# }

# Static discovery (or a gossip block, see the README):
# peer "host-b" {
#   address   = "10.0.0.2:15008"
#   workloads = ["spiffe://example.org/ns/prod/sa/api"]
# }
