// Package policy owns ztunnel's micro-segmentation policy language
// (DESIGN §6): parsing the HCL policy file, validating it with every problem
// reported as file:line:col, compiling its rules into matchers, answering
// Decide, running the file's own test blocks, and the output of the
// `ztunnel policy check` and `ztunnel policy test` commands.
//
// It does not own where the policy file comes from or when it is reloaded
// (the agent does), it never verifies identities (the identity package
// proves who a peer is; Decide trusts the IDs it is given), and it keeps no
// metrics or logs: callers record decisions. It is a leaf package: it
// imports no other package of this module.
//
// # Patterns
//
// A rule's from and to entries are SPIFFE IDs whose path may hold globs:
//
//   - `*` as a whole path segment matches exactly one segment (which is
//     never empty in a valid SPIFFE ID).
//   - `*` inside a segment (`sa/front*`, `*-canary`, `a*b`) matches any
//     run of characters, including none, within that one segment; it never
//     crosses a `/`.
//   - `**` must be a whole segment and matches any number of segments,
//     including zero: `spiffe://td/ns/prod/**` matches
//     `spiffe://td/ns/prod/sa/x` and also `spiffe://td/ns/prod`.
//
// The trust domain is always literal: a wildcard trust domain would
// silently admit every federated partner, so each partner trust domain is
// listed in its own pattern. Every other character matches itself only,
// case-sensitively, and a pattern must match the whole ID: the pattern
// `.../sa/frontend` does not match `.../sa/frontend2`, `.../sa/Frontend`
// or `.../sa/frontend/x`.
//
// # Schedules
//
// A schedule's hours are wall-clock times in its timezone (UTC when
// absent), so a window follows daylight saving time. A window whose end
// is before its start crosses midnight and belongs to the day it opens:
// days = ["fri"], hours = "22:00-06:00" covers Friday 22:00 to Saturday
// 06:00. Times are compared to the minute: "08:00-18:00" includes 17:59:59
// and excludes 18:00:00. The end may be "24:00".
//
// # Decisions
//
// Any matching enforced deny rule wins; else any matching enforced allow
// rule allows; else the default decides. When several rules of the winning
// action match, the first in file order names the decision. Audit rules
// never change a decision; each matching one is reported in
// Decision.Audit. A request whose From or To is not a valid SPIFFE ID is
// denied by the reserved rule name InvalidIDRule. A rule with a ports list
// never matches port 0 (the asker does not know the port).
//
// # Tests
//
// A test block states a request and the expected answer, optionally with
// the rule that must decide it. Load runs every test and refuses the file
// when one fails; Parse only checks them. A test without `at` is decided
// as if every schedule window were open (scheduled deny rules included), so
// it asks who may reach whom and gives the same answer at any hour: a file
// must not pass at noon and be refused at night. A test that checks a
// window gives `at`, and then sees the window open or closed at that
// instant. Decide itself (the agent, `policy check`) always decides at the
// request's time, the current one when At is zero.
//
// # Cost
//
// Decide does not allocate unless an audit rule matches. Rules whose `to`
// patterns are all literal IDs are indexed by ID, so a request only visits
// the rules for its target plus the rules with a glob target.
package policy
