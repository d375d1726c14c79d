# Demo policy: who may reach whom. Any matching deny wins, then any matching
# allow, then the default. Every decision names the rule that made it.

default = "deny"   # nothing is allowed unless a rule says so

rule "frontend-to-payments" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/frontend"]
  to     = ["spiffe://example.org/ns/prod/sa/payments"]
  ports  = [8443]   # only this port; absent = any port
}

rule "no-dev-to-prod" {
  action = "deny"
  from   = ["spiffe://example.org/ns/dev/**"]    # ** = any number of path segments
  to     = ["spiffe://example.org/ns/prod/**"]
}

# Checked at every load (and by `ztunnel policy test policy.hcl`): a policy
# whose tests fail is refused and the previous one stays in force.
test "frontend can pay" {
  from   = "spiffe://example.org/ns/prod/sa/frontend"
  to     = "spiffe://example.org/ns/prod/sa/payments"
  port   = 8443
  expect = "allow"
}

test "dev cannot reach prod" {
  from   = "spiffe://example.org/ns/dev/sa/batch"
  to     = "spiffe://example.org/ns/prod/sa/payments"
  port   = 8443
  expect = "deny"
}
