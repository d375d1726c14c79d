default = "deny"                         # deny (default) | allow

rule "frontend-to-payments" {
  action = "allow"                       # allow | deny
  from   = ["spiffe://example.org/ns/prod/sa/frontend"]
  to     = ["spiffe://example.org/ns/prod/sa/payments"]
  ports  = [8443]                        # optional: any port when absent
  mode   = "enforce"                     # enforce (default) | audit: log only
  schedule {                             # optional temporal window
    days     = ["mon", "tue", "wed", "thu", "fri"]
    hours    = "08:00-18:00"
    timezone = "Europe/Berlin"
  }
}

rule "no-dev-to-prod" {
  action = "deny"
  from   = ["spiffe://example.org/ns/dev/**"]
  to     = ["spiffe://example.org/ns/prod/**"]
}

test "frontend can pay" {                # checked by `ztunnel policy test` and at load
  from   = "spiffe://example.org/ns/prod/sa/frontend"
  to     = "spiffe://example.org/ns/prod/sa/payments"
  port   = 8443
  expect = "allow"
}
