package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/httpapi"
	"github.com/twig-project/twig/edge/server"
)

const serveAbout = `Serves the model over HTTP and websockets: the twig/1 session protocol at
/v1/ws (runs, model calls, thoughts streamed token by token), the
OpenAI-compatible /v1/models, /v1/chat/completions and /v1/images/*, SSE at
/v1/runs and /v1/calls, /healthz, and the web page (--web). Logs are JSON
lines on stderr. With --backend openai or twig (or per role) runs play their
roles on remote models, the keys staying on this server (README: Remote
backends). SIGTERM or Ctrl-C drains: no new runs, runs in flight
finish (cancelled after --grace), then exit 0. docs/PROTOCOL.md has it all.`

func serve(ctx context.Context, e *env, args []string) error {
	d := server.DefaultLimits()
	fs := newFlags(e, "serve", "[flags]", serveAbout)
	var (
		addr       = fs.String("addr", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
		origins    = fs.String("origins", "", "comma-separated browser origins allowed (e.g. https://a.example; the server's own needs listing unless reached by IP or localhost); * allows any")
		token      = fs.String("token", "", "require this bearer token on /v1/ (default: $TWIG_TOKEN; empty: no token)")
		weights    = fs.String("weights", "", "model weights file or URL (default: the embedded model)")
		web        = fs.String("web", "", "folder served at / (default: ./web when it exists)")
		grace      = fs.Duration("grace", 30*time.Second, "on shutdown, how long runs in flight may finish before they are cancelled")
		maxActive  = fs.Int("max-active", d.MaxActive, "runs and model calls computing at once (more wait their turn); default: CPUs - 1")
		maxRuns    = fs.Int("max-runs", d.MaxInFlight, "runs and model calls in flight per connection")
		maxRunsIP  = fs.Int("max-runs-per-addr", d.MaxInFlightPerAddr, "runs and model calls in flight per client address")
		maxConnsIP = fs.Int("max-conns-per-addr", d.MaxConnsPerAddr, "open websockets per client address")
		maxMsg     = fs.Int("max-message-bytes", d.MaxMessageBytes, "largest client message (when the painter paints pictures, by default room for a model call carrying its canvas as a PNG)")
		queue      = fs.Int("queue", d.QueueMessages, "outbound messages queued per connection before it is closed as a slow consumer")
		idle       = fs.Duration("idle-timeout", d.IdleTimeout, "close a websocket with nothing in flight and no message for this long")
		runTimeout = fs.Duration("run-timeout", d.RunTimeout, "longest run or model call")
	)
	sbFlags := addSandboxFlags(fs, false)
	remoteF := addRemoteFlagsAs(fs, "remote-run-timeout")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *token == "" {
		*token = os.Getenv("TWIG_TOKEN")
	}
	if *web == "" {
		if fi, err := os.Stat("web"); err == nil && fi.IsDir() {
			*web = "web"
		}
	}
	for _, n := range []int{*maxActive, *maxRuns, *maxRunsIP, *maxConnsIP, *maxMsg, *queue} {
		if n <= 0 {
			return usagef("limits must be positive, got %d", n)
		}
	}
	if *idle <= 0 || *runTimeout <= 0 || *grace < 0 {
		return usagef("timeouts must be positive")
	}
	rc, err := remoteF.config()
	if err != nil {
		return err
	}
	backend, err := e.backend(ctx, backendOptions{Weights: *weights, Remote: rc})
	if err != nil {
		return err
	}
	msgSet := false
	fs.Visit(func(f *flag.Flag) { msgSet = msgSet || f.Name == "max-message-bytes" })
	if g := httpapi.Geometry(backend); !msgSet && g.Grid == 0 {
		// a painter of pictures (--backend openai): model calls carry the
		// canvas as a PNG, which the default limit would refuse (twig draw
		// --backend twig against this server): room for one, uncompressed, in base64
		*maxMsg = max(*maxMsg, 4*g.Width*g.Height*4/3+64<<10)
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	drawFn, closeSandbox, err := sbFlags.drawer(ctx)
	if err != nil {
		return err
	}
	defer closeSandbox()
	if os.Getenv(holdRowsEnv) == "1" {
		log.Warn("test hook on: every run waits after its first row until it is cancelled", "env", holdRowsEnv)
		drawFn = holdAfterRow(drawFn)
	}
	srv, err := server.New(server.Options{Backend: backend, Draw: drawFn, Token: *token, Origins: splitList(*origins), WebDir: *web,
		Grace: *grace, Logger: log, Limits: gateway.Limits{MaxActive: *maxActive, MaxInFlight: *maxRuns, MaxInFlightPerAddr: *maxRunsIP,
			MaxConnsPerAddr: *maxConnsIP, MaxMessageBytes: *maxMsg, QueueMessages: *queue, IdleTimeout: *idle, RunTimeout: *runTimeout}})
	if err != nil {
		return usagef("%v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(e.stdout, "twig serve: listening on http://%s (websocket ws://%s/v1/ws)\n", ln.Addr(), ln.Addr())
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx, ln)
}

// holdRowsEnv names the test-only hook of twig serve: set to 1, every run
// waits after its first painted row until it is cancelled (the client's
// cancel, a disconnect, --run-timeout or the drain's grace). The end-to-end
// tests cancel runs with it: without it the tiny test model can finish a
// whole run before the client's cancel arrives. Never set it otherwise.
const holdRowsEnv = "TWIG_TEST_HOLD_ROWS"

// drawFunc runs a whole run (engine.Draw or a sandbox's Draw).
type drawFunc = func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error)

// holdAfterRow wraps draw so that a run, once its first row has gone to the
// sink, waits there until ctx ends; the run then ends as a cancelled run does.
func holdAfterRow(draw drawFunc) drawFunc {
	return func(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
		return draw(ctx, b, spec, func(ev protocol.Event) error {
			if sink != nil {
				if err := sink(ev); err != nil {
					return err
				}
			}
			if ev.Type == protocol.TypeBandProgress {
				<-ctx.Done()
			}
			return nil
		})
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
