package tunnel

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// reserveStream takes one of the MaxStreams slots shared by every session
// in both directions; it reports false when none is free. A true result
// must be paired with releaseStream.
func (t *Tunnel) reserveStream() bool {
	if t.streams.Add(1) > int64(t.cfg.MaxStreams) {
		t.streams.Add(-1)
		return false
	}
	return true
}

// releaseStream gives back a slot taken by reserveStream.
func (t *Tunnel) releaseStream() { t.streams.Add(-1) }

// Limits derived from Config (doc.go, "Limits", says why each exists).
//
// handshakesPerIP bounds the inbound handshakes in progress from one source
// IP: a quarter of MaxHandshakes, so that one host's silent connections
// cannot take every slot.
func (c *Config) handshakesPerIP() int {
	if c.HandshakesPerIP > 0 {
		return c.HandshakesPerIP
	}
	return max(1, c.MaxHandshakes/4)
}

// maxPending bounds the inbound streams, across all sessions, whose header
// has not been read yet. They hold no MaxStreams slot, so they need a bound
// of their own; each holds a goroutine and at most a header's bytes.
func (c *Config) maxPending() int { return c.MaxStreams }

// pendingPerPeer bounds one peer's (one SPIFFE ID's, over all its
// sessions) streams whose header has not been read yet: a session's worth
// (2 x StreamsPerSession), but never more than a quarter of maxPending, so
// that one identity cannot take the whole pending bound.
func (c *Config) pendingPerPeer() int {
	if c.PendingPerPeer > 0 {
		return c.PendingPerPeer
	}
	return min(2*c.StreamsPerSession, max(1, c.maxPending()/4))
}

// inboundLimits is a Tunnel's state for the limits that are counted per
// key: handshakes per source IP and header-less streams per peer.
type inboundLimits struct {
	handshakes *quota[netip.Addr] // by source IP; the total is hsSem's
	pending    *quota[string]     // by peer SPIFFE ID
}

func newInboundLimits(c *Config) *inboundLimits {
	return &inboundLimits{
		handshakes: newQuota[netip.Addr](c.handshakesPerIP(), 0),
		pending:    newQuota[string](c.pendingPerPeer(), c.maxPending()),
	}
}

// quotaLogEvery is how often a quota logs the refusals of one key, and of
// its total: a flood must not turn into a flood of log lines.
const quotaLogEvery = time.Second

// quotaResult says which bound, if any, refused a take.
type quotaResult int

const (
	quotaOK        quotaResult = iota
	quotaKeyFull               // the key holds perKey slots
	quotaTotalFull             // all keys together hold total slots
)

// quota counts slots held per key, at most perKey per key and at most
// total in all (0 = no total). Memory is bounded by the slots held: a key
// is forgotten when it holds none. mu guards every field but the bounds.
type quota[K comparable] struct {
	perKey, total int

	mu       sync.Mutex
	n        int
	keys     map[K]*quotaEntry
	totalLog logEvery // refusals by the total bound (under mu)
}

type quotaEntry struct {
	n   int
	log logEvery // refusals of this key (under the quota's mu)
}

// logEvery rate-limits the log line of a repeated refusal to one per
// quotaLogEvery, counting what it kept quiet: a flood must not turn into a
// flood of log lines. The caller serializes calls (a mutex, or use
// logLimiter).
type logEvery struct {
	last  time.Time
	quiet int
}

// allow reports whether to log now, and how many refusals went unlogged
// since the last line.
func (l *logEvery) allow(now time.Time) (bool, int) {
	if now.Sub(l.last) < quotaLogEvery {
		l.quiet++
		return false, 0
	}
	quiet := l.quiet
	l.last, l.quiet = now, 0
	return true, quiet
}

// logLimiter is a logEvery safe for concurrent use.
type logLimiter struct {
	mu sync.Mutex
	l  logEvery
}

func (l *logLimiter) allow() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.l.allow(time.Now())
}

func newQuota[K comparable](perKey, total int) *quota[K] {
	return &quota[K]{perKey: perKey, total: total, keys: map[K]*quotaEntry{}}
}

// take takes a slot for key. On a refusal, log reports whether the caller
// should log it (at most once per quotaLogEvery per key, and as often for
// the total), and suppressed how many refusals went unlogged before it.
func (q *quota[K]) take(key K, now time.Time) (res quotaResult, log bool, suppressed int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.keys[key]
	switch {
	case e != nil && e.n >= q.perKey:
		log, suppressed := e.log.allow(now)
		return quotaKeyFull, log, suppressed
	case q.total > 0 && q.n >= q.total:
		log, suppressed := q.totalLog.allow(now)
		return quotaTotalFull, log, suppressed
	}
	if e == nil {
		e = &quotaEntry{}
		q.keys[key] = e
	}
	e.n++
	q.n++
	return quotaOK, false, 0
}

// release gives back a slot key took.
func (q *quota[K]) release(key K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.keys[key]
	if e == nil {
		return
	}
	q.n--
	if e.n--; e.n == 0 {
		// Forgotten with its log time: a key that keeps refusing holds
		// perKey slots, so it is never forgotten while it floods.
		delete(q.keys, key)
	}
}

// held is how many slots key holds, and all keys together.
func (q *quota[K]) held(key K) (byKey, total int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.keys[key]; e != nil {
		byKey = e.n
	}
	return byKey, q.n
}

// sourceIP is the IP a conn comes from, IPv4-mapped addresses unmapped; the
// zero Addr when the conn is not TCP.
func sourceIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
