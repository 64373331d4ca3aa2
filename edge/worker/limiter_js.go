//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"
)

// doLimiter keeps the buckets in the RateLimiter Durable Object
// (glue/rate_limiter.mjs), one object per client key, called by RPC.
type doLimiter struct{ ns js.Value }

func (l doLimiter) Take(ctx context.Context, key string, cost int, r Rate) (Decision, error) {
	if l.ns.IsUndefined() || l.ns.IsNull() {
		return Decision{}, errors.New("no RATE_LIMITER binding: add the Durable Object of wrangler.toml, or set RATE_LIMIT_PER_MINUTE = 0")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var p js.Value
	if err := try(func() {
		stub := l.ns.Call("get", l.ns.Call("idFromName", key))
		p = stub.Call("take", cost, r.PerMinute, r.Burst)
	}); err != nil {
		return Decision{}, err
	}
	v, err := await(ctx, p)
	if err != nil {
		return Decision{}, err
	}
	return Decision{OK: v.Get("ok").Bool(), Remaining: v.Get("remaining").Int(),
		RetryAfter: time.Duration(v.Get("retry_after_ms").Int()) * time.Millisecond}, nil
}
