# The policy behind TestDecide: one rule per feature under test.
default = "deny"

rule "frontend-to-payments" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/frontend"]
  to     = ["spiffe://example.org/ns/prod/sa/payments"]
  ports  = [8443, 9443]
}

rule "no-dev-to-prod" {
  action = "deny"
  from   = ["spiffe://example.org/ns/dev/**"]
  to     = ["spiffe://example.org/ns/prod/**"]
}

rule "any-ns-to-metrics" {
  action = "allow"
  from   = ["spiffe://example.org/ns/*/sa/prometheus"]
  to     = ["spiffe://example.org/**"]
  ports  = [9100]
}

rule "canaries-to-cache" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/*-canary"]
  to     = ["spiffe://example.org/ns/prod/sa/cache"]
}

rule "quarantine" {
  action = "deny"
  from   = ["spiffe://example.org/**/quarantined"]
  to     = ["spiffe://example.org/**"]
}

rule "all-to-dns" {
  action = "allow"
  from   = ["spiffe://example.org/**"]
  to     = ["spiffe://example.org/ns/infra/sa/dns"]
}

rule "dns-second" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/**"]
  to     = ["spiffe://example.org/ns/infra/sa/dns"]
}

rule "partner-billing" {
  action = "allow"
  from   = ["spiffe://partner.example.net/billing/*", "spiffe://other.example.com/billing/*"]
  to     = ["spiffe://example.org/ns/prod/sa/invoices"]
  ports  = [443]
}

rule "office-hours-berlin" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/reports"]
  to     = ["spiffe://example.org/ns/prod/sa/ledger"]
  schedule {
    days     = ["mon", "tue", "wed", "thu", "fri"]
    hours    = "08:00-18:00"
    timezone = "Europe/Berlin"
  }
}

rule "office-hours-newyork" {
  action = "allow"
  from   = ["spiffe://example.org/ns/prod/sa/reports"]
  to     = ["spiffe://example.org/ns/prod/sa/archive"]
  schedule {
    hours    = "08:00-18:00"
    timezone = "America/New_York"
  }
}

rule "nightly-batch" {
  action = "allow"
  from   = ["spiffe://example.org/ns/batch/sa/etl"]
  to     = ["spiffe://example.org/ns/prod/sa/ledger"]
  schedule {
    days  = ["fri"]
    hours = "22:00-06:00"
  }
}

rule "weekend-only" {
  action = "allow"
  from   = ["spiffe://example.org/ns/ops/sa/backup"]
  to     = ["spiffe://example.org/ns/prod/sa/ledger"]
  schedule {
    days = ["sat", "sun"]
  }
}

rule "audit-would-deny-frontend" {
  action = "deny"
  mode   = "audit"
  from   = ["spiffe://example.org/ns/prod/sa/frontend"]
  to     = ["spiffe://example.org/ns/prod/**"]
}

rule "audit-would-allow-dev" {
  action = "allow"
  mode   = "audit"
  from   = ["spiffe://example.org/ns/dev/**"]
  to     = ["spiffe://example.org/ns/prod/sa/payments"]
}
