// RateLimiter: one token bucket per client key (the worker names the object
// by the client's address). A Durable Object runs one call at a time and is
// the same object for every isolate and location, so a take is atomic and
// global; the bucket is kept in the object's storage, so an evicted object
// starts again where it was. The arithmetic is the Go side's bucket.take
// (edge/proxy/ratelimit.go): keep the two alike.
import { DurableObject } from "cloudflare:workers";

export class RateLimiter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.bucket = null;
    ctx.blockConcurrencyWhile(async () => {
      this.bucket = (await ctx.storage.get("bucket")) ?? null;
    });
  }

  // take spends cost tokens when there are enough; perMinute refills, burst caps.
  take(cost, perMinute, burst) {
    const now = Date.now();
    const perMs = perMinute / 60000;
    let b = this.bucket ?? { tokens: burst, at: now };
    const tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * perMs);
    let out;
    if (tokens >= cost) {
      b = { tokens: tokens - cost, at: now };
      out = { ok: true, remaining: Math.floor(b.tokens), retry_after_ms: 0 };
    } else {
      b = { tokens, at: now };
      out = { ok: false, remaining: Math.floor(tokens), retry_after_ms: Math.ceil((cost - tokens) / perMs) };
    }
    this.bucket = b;
    this.ctx.storage.put("bucket", b); // not awaited: the output gate holds the answer until it is stored
    return out;
  }
}
