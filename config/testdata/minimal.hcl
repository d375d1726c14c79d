# The least a config needs: every other key takes its default.
trust {
  trust_domain = "example.org"
  bundle       = "/etc/ztunnel/pki/ca.crt"
}
