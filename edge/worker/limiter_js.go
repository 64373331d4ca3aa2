//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/twig-project/twig/edge/proxy"
	"github.com/twig-project/twig/internal/jsutil"
)

// doLimiter keeps the buckets in the RateLimiter Durable Object
// (glue/rate_limiter.mjs), one object per client key, called by RPC.
type doLimiter struct{ ns js.Value }

func (l doLimiter) Take(ctx context.Context, key string, cost int, r proxy.Rate) (proxy.Decision, error) {
	if l.ns.IsUndefined() || l.ns.IsNull() {
		return proxy.Decision{}, errors.New("no RATE_LIMITER binding: add the Durable Object of wrangler.toml, or set RATE_LIMIT_PER_MINUTE = 0")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var p js.Value
	if err := jsutil.Try(func() {
		stub := l.ns.Call("get", l.ns.Call("idFromName", key))
		p = stub.Call("take", cost, r.PerMinute, r.Burst)
	}); err != nil {
		return proxy.Decision{}, err
	}
	v, err := jsutil.Await(ctx, p)
	if err != nil {
		return proxy.Decision{}, err
	}
	return proxy.Decision{OK: v.Get("ok").Bool(), Remaining: v.Get("remaining").Int(),
		RetryAfter: time.Duration(v.Get("retry_after_ms").Int()) * time.Millisecond}, nil
}
