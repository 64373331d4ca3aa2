package proxy

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Limiter keeps one token bucket per client. Take spends cost tokens of
// key's bucket, or none when there are too few.
//
// Where the buckets live. workerd gives every request a fresh Go instance,
// so nothing a Go variable holds outlives a request, and an isolate's
// memory is neither shared between isolates nor between Cloudflare's
// locations. The worker's buckets therefore live in a Durable Object
// (glue/rate_limiter.mjs): one object per client key, found by name from
// anywhere, which runs one request at a time, so a take is atomic and every
// isolate and location sees the same bucket. The object keeps the bucket in
// its storage (read once when it starts, written on each take), so eviction
// loses nothing. wrangler dev runs the same object locally. Natively
// (the `!js` twin, one process) a mutex-guarded map is just as sound.
type Limiter interface {
	Take(ctx context.Context, key string, cost int, r Rate) (Decision, error)
}

// Decision is a bucket's answer.
type Decision struct {
	// OK is true when the tokens were spent.
	OK bool
	// Remaining is the whole tokens left.
	Remaining int
	// RetryAfter is how long until cost tokens are there again (when !OK).
	RetryAfter time.Duration
}

func (d Decision) message(r Rate) string {
	return fmt.Sprintf("rate limited: %d calls a minute per client, bursts of %d; try again in %.1f s", r.PerMinute, r.Burst, d.RetryAfter.Seconds())
}

// bucket is a token bucket's state: the arithmetic the Durable Object
// repeats in JavaScript (glue/rate_limiter.mjs); keep the two alike.
type bucket struct {
	Tokens float64 `json:"tokens"`
	At     int64   `json:"at"` // unix milliseconds of Tokens
}

// take refills the bucket to now and spends cost when it can.
func (b *bucket) take(now int64, cost int, r Rate) Decision {
	perMs := float64(r.PerMinute) / 60000
	if b.At == 0 {
		b.Tokens, b.At = float64(r.Burst), now
	}
	b.Tokens = math.Min(float64(r.Burst), b.Tokens+float64(max(0, now-b.At))*perMs)
	b.At = now
	if b.Tokens >= float64(cost) {
		b.Tokens -= float64(cost)
		return Decision{OK: true, Remaining: int(b.Tokens)}
	}
	wait := math.Ceil((float64(cost) - b.Tokens) / perMs)
	return Decision{Remaining: int(b.Tokens), RetryAfter: time.Duration(wait) * time.Millisecond}
}
