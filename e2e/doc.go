// Package e2e holds the end-to-end tests: several agents in one test over
// real loopback sockets with real TLS, and tests that run the built binary
// from configs on disk and drive it with signals. It has no non-test code.
package e2e
