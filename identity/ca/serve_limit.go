package ca

import (
	"sync"
	"time"
)

// maxLimiterKeys bounds the limiter's memory: past it, buckets that have
// refilled completely (clients that went quiet) are dropped.
const maxLimiterKeys = 4096

// limiter is a token bucket per client address: rate tokens per second up
// to burst. It bounds token guessing and protects the CA key from being
// used as a signing oracle at line rate.
type limiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket, reporting false when it is empty.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxLimiterKeys {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// prune drops full buckets; if none is full it drops them all (a flood of
// distinct addresses then gets fresh buckets, which is no worse than
// refusing everyone). Called with mu held.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterKeys {
		clear(l.buckets)
	}
}
