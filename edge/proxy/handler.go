package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// Runtime is what differs between workerd and net/http: edge/worker's glue
// (*_js.go) provides workerd's, NativeRuntime net/http's.
type Runtime struct {
	// Transport makes the upstream requests (fetch in workerd). It must not
	// follow redirects and must honour the request's context.
	Transport http.RoundTripper
	// Limiter keeps the per-client buckets (a Durable Object in workerd).
	Limiter Limiter
	// Upgrade turns a request into a websocket served by serve (a
	// WebSocketPair in workerd, gorilla natively). It answers the request.
	Upgrade func(w http.ResponseWriter, r *http.Request, maxMessage int, serve func(gateway.Transport))
	// Dial opens a websocket to an upstream's http(s) URL with header
	// (fetch with Upgrade in workerd, gorilla natively), reading messages
	// of up to maxMessage bytes (an upstream's answers: twig/2 strips are
	// PNGs); a refused handshake is a *StatusError.
	Dial func(ctx context.Context, url string, header http.Header, maxMessage int) (gateway.Transport, error)
	// Logger gets one JSON line per request.
	Logger *slog.Logger
}

// worker is the handler's state: the configuration and the runtime.
type worker struct {
	c   Config
	rt  Runtime
	log *slog.Logger
	gws map[string]*gateway.Gateway // per upstream, for /v1/ws
}

// NewHandler returns the worker: its routes behind request ids, logs, the
// CORS allowlist, the client token and the rate limit. A configuration
// error (cerr) makes every request but a preflight a 500 that says what to
// fix.
func NewHandler(c Config, cerr error, rt Runtime) http.Handler {
	if rt.Logger == nil {
		rt.Logger = slog.New(slog.DiscardHandler)
	}
	w := &worker{c: c, rt: rt, log: rt.Logger, gws: map[string]*gateway.Gateway{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", w.health)
	mux.HandleFunc("GET /v1/ws", func(rw http.ResponseWriter, r *http.Request) { w.websocket(rw, r, c.Default) })
	mux.HandleFunc("GET /u/{up}/v1/ws", func(rw http.ResponseWriter, r *http.Request) { w.websocket(rw, r, r.PathValue("up")) })
	mux.HandleFunc("/v1/{ep...}", func(rw http.ResponseWriter, r *http.Request) { w.proxy(rw, r, c.Default, r.PathValue("ep")) })
	mux.HandleFunc("/u/{up}/v1/{ep...}", func(rw http.ResponseWriter, r *http.Request) {
		w.proxy(rw, r, r.PathValue("up"), r.PathValue("ep"))
	})
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		WriteError(rw, http.StatusNotFound, "not_found", "no endpoint "+r.Method+" "+textutil.Clip(r.URL.Path, 80)+
			": this worker serves /v1/… (the default upstream), /u/NAME/v1/… and /healthz")
	})
	var h http.Handler = mux
	if cerr != nil {
		msg := "the worker is misconfigured: " + textutil.OneLine(cerr.Error())
		h = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			WriteError(rw, http.StatusInternalServerError, "config_error", msg)
		})
	}
	h = w.limit(h)
	h = w.guard(h)
	return w.logged(h)
}

func (w *worker) health(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, map[string]any{"status": "ok", "upstreams": w.c.names(), "default": w.c.Default})
}

// upstream finds a client's choice among the configured upstreams: the
// only way a client says where a call goes.
func (w *worker) upstream(rw http.ResponseWriter, name string) *Upstream {
	if u := w.c.Upstreams[name]; u != nil {
		return u
	}
	if name == "" {
		WriteError(rw, http.StatusNotFound, "no_default_upstream", "no default upstream: set DEFAULT_UPSTREAM, or use /u/NAME/v1/… with one of: "+strings.Join(w.c.names(), ", "))
		return nil
	}
	WriteError(rw, http.StatusForbidden, "upstream_not_allowed", fmt.Sprintf("upstream %q is not allowed: this worker calls only %s", textutil.Clip(name, 40), strings.Join(w.c.names(), ", ")))
	return nil
}
