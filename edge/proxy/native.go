//go:build !js

package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/wsconn"
)

// NativeRuntime is net/http's Runtime, the worker's native twin (and the
// tests'): a transport that follows no redirects (a RoundTripper never
// does) and ignores proxy settings, buckets in memory, and gorilla
// websockets (package wsconn).
func NativeRuntime(log *slog.Logger) Runtime {
	t := &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	return Runtime{Transport: t, Limiter: NewMemLimiter(), Upgrade: upgradeNative, Dial: dialNative, Logger: log}
}

// dialNative dials an upstream's websocket with gorilla (package wsconn).
func dialNative(ctx context.Context, url string, header http.Header, maxMessage int) (gateway.Transport, error) {
	url = "ws" + strings.TrimPrefix(url, "http")
	conn, resp, err := wsconn.Dial(ctx, url, wsconn.DialOptions{Options: wsconn.Options{MaxMessageBytes: maxMessage}, Header: header})
	if err != nil && resp != nil {
		return nil, &StatusError{Status: resp.StatusCode}
	}
	return conn, err
}

// upgradeNative upgrades with gorilla (package wsconn) and serves the
// connection on the handler's goroutine.
func upgradeNative(w http.ResponseWriter, r *http.Request, maxMessage int, serve func(gateway.Transport)) {
	conn, err := wsconn.Upgrade(w, r, wsconn.Options{MaxMessageBytes: maxMessage}, func(*http.Request) bool { return true })
	if err != nil {
		return // wsconn answered the request
	}
	serve(conn)
}
