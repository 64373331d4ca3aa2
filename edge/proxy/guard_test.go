//go:build !js

package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	up, _ := echo(t)
	w := openaiWorker(t, up.URL, env{"ORIGINS": "https://app.example, http://127.0.0.1:8000"})
	host := strings.TrimPrefix(w.url, "http://")
	for _, tc := range []struct {
		name, method, origin string
		status               int
		allow                bool
	}{
		{"no origin (not a browser)", "GET", "", 200, false},
		{"listed", "GET", "https://app.example", 200, true},
		{"listed, another case", "GET", "HTTPS://APP.EXAMPLE", 200, true},
		{"the worker's own", "GET", "http://" + host, 200, true},
		{"not listed", "GET", "https://evil.example", 403, false},
		{"preflight, listed", "OPTIONS", "http://127.0.0.1:8000", 204, true},
		{"preflight, not listed", "OPTIONS", "https://evil.example", 403, false},
	} {
		h := http.Header{"Access-Control-Request-Headers": {"content-type, x-stainless-os, x-evil"}}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		status, hdr, body := do(t, tc.method, w.url+"/v1/models", nil, h)
		if status != tc.status {
			t.Fatalf("%s: status %d %s, want %d", tc.name, status, body, tc.status)
		}
		if status == 403 {
			wantError(t, status, body, 403, "origin_not_allowed")
		}
		if got := hdr.Get("Access-Control-Allow-Origin"); (got != "") != tc.allow || (tc.allow && got != tc.origin) {
			t.Fatalf("%s: Access-Control-Allow-Origin %q", tc.name, got)
		}
		if tc.method == "OPTIONS" && tc.allow {
			ah := hdr.Get("Access-Control-Allow-Headers")
			if !has(ah, "x-stainless-os") || has(ah, "x-evil") || !has(ah, "authorization") {
				t.Fatalf("%s: Access-Control-Allow-Headers %q", tc.name, ah)
			}
		}
	}
}

func TestClientToken(t *testing.T) {
	up, seen := echo(t)
	w := openaiWorker(t, up.URL, env{"CLIENT_TOKEN": "client-token-77"})
	status, _, body := do(t, "GET", w.url+"/v1/models", nil, nil)
	wantError(t, status, body, 401, "invalid_api_key")
	status, _, body = do(t, "GET", w.url+"/v1/models", nil, http.Header{"Authorization": {"Bearer wrong"}})
	wantError(t, status, body, 401, "invalid_api_key")
	status, _, body = do(t, "GET", w.url+"/v1/models?access_token=client-token-77", nil, nil)
	wantError(t, status, body, 401, "invalid_api_key") // the query token is for websockets only
	status, _, body = do(t, "GET", w.url+"/v1/models", nil, http.Header{"Authorization": {"Bearer client-token-77"}})
	if status != 200 || has(body, "client-token-77") {
		t.Fatalf("%d %s", status, body)
	}
	if r := <-seen; r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Fatalf("the client token went upstream: %q", r.Header.Get("Authorization"))
	}
	if status, _, _ := do(t, "GET", w.url+"/healthz", nil, nil); status != 200 {
		t.Fatalf("/healthz needs no token: %d", status)
	}
}

func TestRateLimitTripsAndRecovers(t *testing.T) {
	up, _ := echo(t)
	w := openaiWorker(t, up.URL, env{"RATE_LIMIT_PER_MINUTE": "60", "RATE_LIMIT_BURST": "3"})
	for i := range 3 {
		if status, hdr, body := do(t, "GET", w.url+"/v1/models", nil, nil); status != 200 || hdr.Get("X-Ratelimit-Remaining") != string(rune('2'-i)) {
			t.Fatalf("call %d: %d %s remaining %q", i, status, body, hdr.Get("X-Ratelimit-Remaining"))
		}
	}
	status, hdr, body := do(t, "GET", w.url+"/v1/models", nil, nil)
	wantError(t, status, body, 429, "rate_limited")
	if hdr.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1 (one token a second)", hdr.Get("Retry-After"))
	}
	if status, _, _ := do(t, "GET", w.url+"/healthz", nil, nil); status != 200 {
		t.Fatalf("/healthz is not limited: %d", status)
	}
	w.clock.add(time.Second)
	if status, _, body := do(t, "GET", w.url+"/v1/models", nil, nil); status != 200 {
		t.Fatalf("after a second: %d %s", status, body)
	}
	status, _, body = do(t, "GET", w.url+"/v1/models", nil, nil)
	wantError(t, status, body, 429, "rate_limited")
}

func TestBucket(t *testing.T) {
	r := Rate{PerMinute: 120, Burst: 4} // 2 a second
	m := NewMemLimiter()
	now := time.Unix(100, 0)
	m.now = func() time.Time { return now }
	take := func(key string, cost int) Decision {
		d, err := m.Take(context.Background(), key, cost, r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for range 4 {
		if !take("a", 1).OK {
			t.Fatal("the burst was refused")
		}
	}
	if d := take("a", 1); d.OK || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("past the burst: %+v", d)
	}
	if !take("b", 1).OK {
		t.Fatal("another client shares the bucket")
	}
	now = now.Add(time.Second)
	if d := take("a", 2); !d.OK || d.Remaining != 0 {
		t.Fatalf("a second later: %+v", d)
	}
	now = now.Add(time.Hour)
	if d := take("a", 1); !d.OK || d.Remaining != 3 {
		t.Fatalf("refilled past the burst: %+v", d)
	}
}

func TestRateKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"::ffff:203.0.113.7":        "203.0.113.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3":   "2001:db8:1:2::/64",
		"":                          "unknown",
		"cf-connecting-ip-spoofed!": "unknown",
	} {
		if got := rateKey(in); got != want {
			t.Errorf("rateKey(%q) = %q, want %q", in, got, want)
		}
	}
}
