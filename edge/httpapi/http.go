package httpapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/twig-project/twig/edge/gateway"
)

// Config is what Handler serves.
type Config struct {
	// Gateway serves the runs and calls (required).
	Gateway *gateway.Gateway
	// WebSocket serves /v1/ws: the runtime's upgrade (package wsconn in
	// `twig serve`, a WebSocketPair shim in the Worker) ending in
	// Gateway.Serve. Nil: /v1/ws is 404.
	WebSocket http.Handler
	// Token, when set, is required on /v1/ (Authorization: Bearer TOKEN, or
	// ?access_token=TOKEN for browsers' websockets).
	Token string
	// Origins are the browser origins (scheme://host[:port]) allowed besides
	// the server's own; "*" allows any. A request without Origin (not from a
	// browser) is always allowed.
	Origins []string
	// Static serves every path outside /v1/ and /healthz (the web page).
	// Nil: a short plain-text index.
	Static http.Handler
	// Logger gets one line per request (default: the gateway's).
	Logger *slog.Logger
	// MaxBodyBytes caps an HTTP request body. Default 8 MiB.
	MaxBodyBytes int64
}

// Handler returns the gateway's HTTP surface: /healthz, /v1/ws, the
// OpenAI-compatible endpoints, /v1/runs and /v1/calls (SSE), and Static,
// wrapped in request ids, logs, origin checks (CORS) and the token check.
func Handler(c Config) http.Handler {
	if c.Logger == nil {
		c.Logger = c.Gateway.Logger()
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 8 << 20
	}
	api := &apiHandler{g: c.Gateway, maxBody: c.MaxBodyBytes}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", api.health)
	if c.WebSocket != nil {
		mux.Handle("GET /v1/ws", c.WebSocket)
	}
	mux.HandleFunc("GET /v1/models", api.models)
	mux.HandleFunc("POST /v1/chat/completions", api.chat)
	mux.HandleFunc("POST /v1/images/generations", api.generate)
	mux.HandleFunc("POST /v1/images/edits", api.edit)
	mux.HandleFunc("POST /v1/runs", api.runs)
	mux.HandleFunc("POST /v1/calls", api.calls)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, http.StatusNotFound, "not_found", "", "no endpoint "+r.Method+" "+r.URL.Path+": see docs/PROTOCOL.md for the endpoints")
	})
	static := c.Static
	if static == nil {
		static = http.HandlerFunc(index)
	}
	mux.Handle("/", static)
	var h http.Handler = mux
	h = Guard{Origins: c.Origins, Token: c.Token, Checked: func(path string) bool { return strings.HasPrefix(path, "/v1/") },
		OriginHint: func(origin string) string { return "start the server with --origins " + origin }}.Handler(h)
	h = logRequests(h, c.Logger)
	return requestIDs(h)
}

func index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("twig serve\n\nwebsocket: /v1/ws\nOpenAI-compatible: GET /v1/models, POST /v1/chat/completions, POST /v1/images/generations, POST /v1/images/edits\nSSE: POST /v1/runs, POST /v1/calls\nhealth: /healthz\n(no web page: run with --web DIR)\n"))
}

// Request ids.

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the request's id (set by Handler), or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
		}) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// ClientAddr is the request's client address without the port.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Logs.

func logRequests(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rw := &Recorder{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		log.Info("http", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path,
			"status", rw.Status(), "bytes", rw.Bytes, "ms", time.Since(t0).Milliseconds(), "addr", ClientAddr(r))
	})
}

// Recorder notes the status and size of a response for a request log; it
// keeps Flush (SSE) and Hijack (websockets) working. Surfaces with logs of
// their own (the Worker) wrap it.
type Recorder struct {
	http.ResponseWriter
	// Bytes is the size of the body written so far.
	Bytes    int64
	status   int
	switched bool
}

// Status is the response's status: 101 once the connection was handed to a
// websocket, 200 when nothing set one.
func (r *Recorder) Status() int {
	switch {
	case r.switched:
		return http.StatusSwitchingProtocols
	case r.status == 0:
		return http.StatusOK
	}
	return r.status
}

// MarkSwitched records that the connection became a websocket by a route
// other than Hijack (the Worker's WebSocketPair).
func (r *Recorder) MarkSwitched() { r.switched = true }

// WriteHeader records the first status written.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write counts the body's bytes.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += int64(n)
	return n, err
}

// Flush passes through to the underlying writer when it can flush.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over (websocket upgrades) and records it.
func (r *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("edge: the response writer cannot be hijacked")
	}
	r.switched = true
	return h.Hijack()
}

// Unwrap returns the underlying writer (http.ResponseController).
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Health.

type apiHandler struct {
	g       *gateway.Gateway
	maxBody int64
}

func (a *apiHandler) health(w http.ResponseWriter, r *http.Request) {
	s := a.g.Stats()
	status := "ok"
	code := http.StatusOK
	if s.Draining {
		status, code = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "conns": s.Conns, "in_flight": s.InFlight})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// WriteError answers an HTTP error in the OpenAI shape
// {"error":{"message","type","param","code"}}, for the runtimes' handlers.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	writeAPIError(w, status, code, "", msg)
}
