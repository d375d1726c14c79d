default = "maybe"
colour = "red"

rule "a" {
  action = "permit"
  actoin = "allow"
  from   = []
  to     = ["spiffe://*/x", "spiffe://example.org/a**", 42]
  ports  = [0, 70000, 80.5, "443"]
  mode   = "log"
  schedule {
    days     = ["monday", "fri"]
    hours    = "8-18"
    timezone = "Mars/Olympus"
  }
  schedule {
    days = ["sat"]
  }
}

rule "a" {
  from = "spiffe://example.org/a"
}

rule "default" {
  action = "allow"
  from   = ["spiffe://example.org/a"]
  to     = ["spiffe://example.org/b"]
  schedul {}
}

test "t" {
  from   = "spiffe://example.org/a/"
  expect = "yes"
  at     = "yesterday"
  rule   = "nope"
  port   = -1
}

test "t" {
  from   = "spiffe://example.org/a"
  to     = "spiffe://example.org/b"
  expect = "deny"
}
