package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/twig-project/twig/edge/httpapi"
	"github.com/twig-project/twig/internal/textutil"
)

// The middleware around the worker's routes: request ids and logs, the
// origin and token checks, the rate limit.

type ctxKey int

const (
	requestIDKey ctxKey = iota
	clientKey
)

// requestID returns the request's id.
func requestID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey).(string); return s }

// rateKey is a client's bucket: its IPv4 address, or its IPv6 /64 (one
// subscriber's network: addresses within it are free to rotate).
func rateKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return "unknown"
	case ip.Is4() || ip.Is4In6():
		return ip.Unmap().String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// sharedKey is every client's bucket with CLIENT_IP = "shared".
const sharedKey = "shared"

// client returns the client's rate-limit key (rateKey, or sharedKey).
func client(ctx context.Context) string { s, _ := ctx.Value(clientKey).(string); return s }

// logged gives the request an id (X-Request-Id, a client's own kept when
// sane) and logs one line for it: never a header, the query or a body.
func (w *worker) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
		}) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		addr := rateKey(httpapi.ClientAddr(r))
		key := addr
		if w.c.SharedBucket {
			key = sharedKey
		}
		rw.Header().Set("X-Request-Id", id)
		rec := &recorder{Recorder: &httpapi.Recorder{ResponseWriter: rw}}
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), clientKey, key)
		next.ServeHTTP(rec, r.WithContext(ctx))
		w.log.Info("http", "request_id", id, "method", r.Method, "path", textutil.Clip(r.URL.Path, 120), "status", rec.Status(),
			"code", rec.code, "bytes", rec.Bytes, "ms", time.Since(t0).Milliseconds(), "addr", addr)
	})
}

// guard checks browser origins against the allowlist (answering CORS
// preflights) and the client token on every path but /healthz: `twig
// serve`'s guard (httpapi.Guard) with the worker's settings.
func (w *worker) guard(next http.Handler) http.Handler {
	return httpapi.Guard{Origins: w.c.Origins, Token: w.c.Token, Realm: "twig-edge",
		Open:          func(path string) bool { return path == "/healthz" },
		OriginHint:    func(string) string { return "add it to ORIGINS in wrangler.toml" },
		ExposeHeaders: []string{"Retry-After", "X-RateLimit-Remaining"},
		WriteError:    WriteError}.Handler(next)
}

// limit charges each API request one call of the client's bucket; a
// websocket's runs and calls are charged as they go (ws.go).
func (w *worker) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.Method == http.MethodOptions || w.rt.Limiter == nil || w.c.Rate.PerMinute == 0 {
			next.ServeHTTP(rw, r)
			return
		}
		d, err := w.rt.Limiter.Take(r.Context(), client(r.Context()), 1, w.c.Rate)
		if err != nil {
			w.log.Error("rate limiter failed", "request_id", requestID(r.Context()), "err", err.Error())
			WriteError(rw, http.StatusServiceUnavailable, "rate_limiter_unavailable", "the rate limiter could not be reached; try again shortly")
			return
		}
		rw.Header().Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		if !d.OK {
			secs := int((d.RetryAfter + time.Second - 1) / time.Second)
			rw.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			WriteError(rw, http.StatusTooManyRequests, "rate_limited", d.message(w.c.Rate))
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// recorder adds the error code of a refused request to edge's Recorder,
// for the log line.
type recorder struct {
	*httpapi.Recorder
	code string
}

// MarkSwitched tells the request's log line that w's request became a
// websocket (status 101), for a Runtime.Upgrade whose platform answers the
// switch itself (workerd's WebSocketPair).
func MarkSwitched(w http.ResponseWriter) {
	for {
		switch x := w.(type) {
		case *recorder:
			x.MarkSwitched()
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}

// noteCode lets the log line carry the error code of a refused request.
func noteCode(w http.ResponseWriter, code string) {
	for {
		switch x := w.(type) {
		case *recorder:
			x.code = code
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return
		}
	}
}
