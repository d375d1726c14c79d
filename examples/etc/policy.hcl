# /etc/ztunnel/policy.hcl: who may reach whom. Check it with
#   ztunnel policy test /etc/ztunnel/policy.hcl
#   ztunnel policy check --policy /etc/ztunnel/policy.hcl --from ID --to ID --port N

default = "deny"   # nothing is allowed unless a rule allows it

# rule "web-to-api" {
#   action = "allow"                                  # allow | deny (any matching deny wins)
#   from   = ["spiffe://example.org/ns/prod/sa/web"]  # * = one path segment, ** = any number
#   to     = ["spiffe://example.org/ns/prod/sa/api"]
#   ports  = [8443]                                   # optional: any port when absent
#   mode   = "enforce"                                # enforce | audit (log "would allow/deny" only)
# }
#
# test "web can reach api" {
#   from   = "spiffe://example.org/ns/prod/sa/web"
#   to     = "spiffe://example.org/ns/prod/sa/api"
#   port   = 8443
#   expect = "allow"
# }
