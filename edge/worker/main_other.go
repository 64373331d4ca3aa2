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
	"syscall"
	"time"

	"github.com/twig-project/twig/edge/proxy"
)

// The native twin: the same handler on net/http (proxy.NativeRuntime),
// configured from the process environment (the names of wrangler.toml's
// [vars] and secrets), listening on EDGE_ADDR (default 127.0.0.1:8787).
func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	c, err := proxy.LoadConfig(os.LookupEnv)
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
	srv := &http.Server{Handler: proxy.NewHandler(c, err, proxy.NativeRuntime(log)), ReadHeaderTimeout: 10 * time.Second}
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
