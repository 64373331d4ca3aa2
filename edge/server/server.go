// Package server is `twig serve`: package gateway and its HTTP surface
// (package httpapi) on net/http, with websockets from gorilla (package
// wsconn), the web page, and a drain on shutdown. The cmd/twig command only
// parses flags and calls Run.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/httpapi"
	"github.com/twig-project/twig/edge/wsconn"
)

// Options configure a server. Only Backend is required.
type Options struct {
	// Backend plays the runs and calls.
	Backend engine.Backend
	// Draw runs a whole run; nil means engine.Draw (see gateway.Config.Draw).
	Draw func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error)
	// Limits bound each client (zero fields: defaults).
	Limits gateway.Limits
	// WebSocket configures the websocket transport (zero fields: defaults;
	// MaxMessageBytes follows Limits).
	WebSocket wsconn.Options
	// Token, when set, is required on /v1/.
	Token string
	// Origins are the browser origins allowed ("*": any) besides the
	// server's own when reached by IP address or localhost.
	Origins []string
	// WebDir, when set, is served at / (the web page).
	WebDir string
	// Grace is how long a shutdown waits for runs in flight before
	// cancelling them. Default 30 s.
	Grace time.Duration
	// Logger gets the structured logs (default: discard).
	Logger *slog.Logger
	// OnEmit sees every event as it is emitted (see gateway.Config).
	OnEmit func(protocol.Event)
	// OnWrite sees every websocket event once written (see gateway.Config).
	OnWrite func(protocol.Event)
}

// DefaultLimits are `twig serve`'s limits: the gateway's defaults, with
// MaxActive set to one run a CPU less one (at least one), so that the
// model's work leaves a core for the network and events reach clients
// without waiting for a scheduler slice.
func DefaultLimits() gateway.Limits {
	l := gateway.DefaultLimits()
	l.MaxActive = max(1, runtime.GOMAXPROCS(0)-1)
	return l
}

// Server is a `twig serve` instance.
type Server struct {
	o       Options
	gw      *gateway.Gateway
	handler http.Handler
}

// New makes a server; nothing listens until Serve.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("server: no model backend")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Grace <= 0 {
		o.Grace = 30 * time.Second
	}
	s := &Server{o: o}
	s.gw = gateway.New(gateway.Config{Backend: o.Backend, Draw: o.Draw, Limits: o.Limits, Logger: o.Logger, Server: "twig serve", OnEmit: o.OnEmit, OnWrite: o.OnWrite})
	if s.o.WebSocket.MaxMessageBytes <= 0 {
		s.o.WebSocket.MaxMessageBytes = s.gw.Limits().MaxMessageBytes
	}
	var static http.Handler
	if o.WebDir != "" {
		fi, err := os.Stat(o.WebDir)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("server: --web %s is not a folder", o.WebDir)
		}
		static = http.FileServer(http.Dir(o.WebDir))
	}
	s.handler = httpapi.Handler(httpapi.Config{Gateway: s.gw, WebSocket: http.HandlerFunc(s.websocket),
		Token: o.Token, Origins: o.Origins, Static: static, Logger: o.Logger})
	return s, nil
}

// Handler is the server's whole HTTP surface (for httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// Gateway is the server's gateway.
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

// websocket upgrades /v1/ws and serves the connection until it ends.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	addr := httpapi.ClientAddr(r)
	if err := s.gw.Admit(addr); err != nil {
		status := http.StatusTooManyRequests
		code := protocol.CodeTooMany
		if errors.Is(err, gateway.ErrDraining) {
			status, code = http.StatusServiceUnavailable, protocol.CodeDraining
		}
		httpapi.WriteError(w, status, code, err.Error())
		return
	}
	c, err := wsconn.Upgrade(w, r, s.o.WebSocket, httpapi.CheckOrigin(s.o.Origins))
	if err != nil {
		return // gorilla has answered
	}
	s.gw.Serve(r.Context(), c, gateway.Peer{Addr: addr, RequestID: httpapi.RequestID(r.Context())})
}

// closeWait bounds how long HTTP requests may take to finish once the runs
// of a drain are over.
const closeWait = 5 * time.Second

// Serve serves on ln until ctx is done, then drains: no new connections or
// runs (503 draining, health checks too), runs in flight finish (cancelled
// after Grace), connections close with 1001, then the listener closes. It
// returns nil after a drain, or the listener's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.o.Logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.o.Logger.Info("draining", "grace", s.o.Grace.String(), "in_flight", s.gw.Stats().InFlight)
	// The listener stays open while runs finish, so that health checks and
	// new clients get the documented 503 draining (and a load balancer moves
	// on) rather than connection refused; keep-alives end so that clients
	// reconnect elsewhere.
	s.gw.Drain()
	hs.SetKeepAlivesEnabled(false)
	graceCtx, cancel := context.WithTimeout(context.Background(), s.o.Grace)
	defer cancel()
	if err := s.gw.Shutdown(graceCtx); err != nil {
		s.o.Logger.Warn("grace period over: cancelled the runs in flight")
	}
	// The runs are over (or cancelled): stop listening and let the HTTP
	// requests still answering finish, briefly.
	closeCtx, cancelClose := context.WithTimeout(context.Background(), closeWait)
	defer cancelClose()
	if err := hs.Shutdown(closeCtx); err != nil {
		hs.Close()
	}
	s.o.Logger.Info("drained")
	return nil
}
