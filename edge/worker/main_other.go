//go:build !js

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/wsconn"
)

// The native twin: the same handler on net/http, configured from the
// process environment (the names of wrangler.toml's [vars] and secrets),
// listening on EDGE_ADDR (default 127.0.0.1:8787).
func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	c, err := LoadConfig(os.LookupEnv)
	if err != nil {
		log.Error("configuration", "err", err.Error())
	}
	addr := os.Getenv("EDGE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8787"
	}
	ln, lerr := net.Listen("tcp", addr)
	if lerr != nil {
		fmt.Fprintln(os.Stderr, "worker:", lerr)
		os.Exit(1)
	}
	fmt.Printf("twig edge (native): listening on http://%s\n", ln.Addr())
	srv := &http.Server{Handler: NewHandler(c, err, nativeRuntime(log)), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// nativeRuntime is net/http's: a transport that follows no redirects (a
// RoundTripper never does) and ignores proxy settings, buckets in memory,
// and gorilla websockets.
func nativeRuntime(log *slog.Logger) Runtime {
	t := &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, ForceAttemptHTTP2: true,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	return Runtime{Transport: t, Limiter: newMemLimiter(), Upgrade: upgradeNative, Dial: dialNative, Logger: log}
}

// dialNative dials an upstream's websocket with gorilla (package wsconn).
func dialNative(ctx context.Context, url string, header http.Header) (gateway.Transport, error) {
	url = "ws" + strings.TrimPrefix(url, "http")
	conn, resp, err := wsconn.Dial(ctx, url, wsconn.DialOptions{Options: wsconn.Options{MaxMessageBytes: 1 << 20}, Header: header})
	if err != nil && resp != nil {
		return nil, &statusError{status: resp.StatusCode}
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
