package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/twig-project/twig/internal/textutil"
)

// endpoints are the upstream paths (under the upstream's API root) a
// client may use: model calls only, never a provider's account, file or
// fine-tuning APIs, whatever key the worker holds.
var endpoints = []struct {
	method, path string
	twigOnly     bool // a twig gateway's own endpoints
}{
	{"GET", "models", false},
	{"POST", "chat/completions", false},
	{"POST", "images/generations", false},
	{"POST", "images/edits", false},
	{"POST", "calls", true},
	{"POST", "runs", true},
}

func endpointAllowed(kind, method, path string) bool {
	for _, e := range endpoints {
		if e.path == path && e.method == method && (!e.twigOnly || kind == kindTwig) {
			return true
		}
	}
	return false
}

func endpointList(kind string) string {
	var l []string
	for _, e := range endpoints {
		if !e.twigOnly || kind == kindTwig {
			l = append(l, e.method+" /v1/"+e.path)
		}
	}
	return strings.Join(l, ", ")
}

// Headers passed on: to the upstream, only what describes the body; back,
// only what describes the answer and the upstream's rate limits.
var (
	requestHeaders  = []string{"Content-Type", "Accept"}
	responseHeaders = []string{"Content-Type", "Cache-Control", "Retry-After", "Retry-After-Ms", "X-Accel-Buffering", "Openai-Processing-Ms"}
)

var errHeaderTimeout = errors.New("no response headers within the upstream timeout")

// transport is the runtime's, with the header timeout.
func (w *worker) transport() http.RoundTripper {
	return headerTimeout{next: w.rt.Transport, d: w.c.HeaderTimeout}
}

// proxy passes one API request to upstream name's endpoint ep and streams
// the answer back as it arrives.
func (w *worker) proxy(rw http.ResponseWriter, r *http.Request, name, ep string) {
	u := w.upstream(rw, name)
	if u == nil {
		return
	}
	if !endpointAllowed(u.Kind, r.Method, ep) {
		WriteError(rw, http.StatusNotFound, "endpoint_not_allowed", fmt.Sprintf("%s /v1/%s is not proxied to upstream %q: use %s", r.Method, textutil.Clip(ep, 60), u.Name, endpointList(u.Kind)))
		return
	}
	body, ok := w.readBody(rw, r)
	if !ok {
		return
	}
	if len(u.AllowModels) > 0 && r.Method == http.MethodPost {
		if m := requestModel(r.Header.Get("Content-Type"), body); !slices.Contains(u.AllowModels, m) {
			WriteError(rw, http.StatusBadRequest, "model_not_allowed", fmt.Sprintf("model %q is not allowed on upstream %q: use one of %s", textutil.Clip(m, 60), u.Name, strings.Join(u.AllowModels, ", ")))
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), w.c.CallTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, u.URL+"/"+ep, bytes.NewReader(body))
	if err != nil {
		WriteError(rw, http.StatusInternalServerError, "internal", "cannot make the upstream request")
		return
	}
	for _, k := range requestHeaders {
		if v := r.Header.Get(k); v != "" {
			out.Header.Set(k, v)
		}
	}
	out.Header.Set("User-Agent", "twig-edge/1")
	out.Header.Set("X-Request-Id", requestID(r.Context()))
	if u.secret != "" {
		out.Header.Set("Authorization", "Bearer "+u.secret.Reveal())
	}
	resp, err := w.transport().RoundTrip(out)
	if err != nil {
		w.log.Warn("upstream failed", "request_id", requestID(r.Context()), "upstream", u.Name, "err", textutil.OneLine(err.Error()))
		switch {
		case errors.Is(err, errHeaderTimeout):
			WriteError(rw, http.StatusGatewayTimeout, "upstream_timeout", fmt.Sprintf("upstream %q sent no answer within %v (UPSTREAM_TIMEOUT_MS)", u.Name, w.c.HeaderTimeout))
		case ctx.Err() != nil:
			WriteError(rw, http.StatusGatewayTimeout, "upstream_timeout", fmt.Sprintf("upstream %q: the call ran past its limit of %v (CALL_TIMEOUT_MS)", u.Name, w.c.CallTimeout))
		default:
			WriteError(rw, http.StatusBadGateway, "upstream_unreachable", fmt.Sprintf("upstream %q could not be reached: %s", u.Name, netReason(err)))
		}
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 3:
		WriteError(rw, http.StatusBadGateway, "upstream_redirect", fmt.Sprintf("upstream %q answered with a redirect (HTTP %d), which the worker does not follow", u.Name, resp.StatusCode))
		return
	case resp.ContentLength > w.c.MaxResponseBytes:
		WriteError(rw, http.StatusBadGateway, "response_too_large", fmt.Sprintf("upstream %q answered %d bytes, over the limit of %d (MAX_RESPONSE_BYTES)", u.Name, resp.ContentLength, w.c.MaxResponseBytes))
		return
	}
	h := rw.Header()
	for k, v := range resp.Header {
		if slices.Contains(responseHeaders, k) || (strings.HasPrefix(k, "X-Ratelimit-") && k != "X-Ratelimit-Remaining") {
			h[k] = scrubAll(v, w.c.secrets())
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		rw.WriteHeader(resp.StatusCode)
		w.stream(rw, resp, ctx, u.Name)
		return
	}
	// Any other answer is read whole first (within the cap), so that an
	// answer too large or cut short is a clean error, not a truncated 200.
	b, err := io.ReadAll(io.LimitReader(resp.Body, w.c.MaxResponseBytes+1))
	switch {
	case err != nil && ctx.Err() != nil:
		WriteError(rw, http.StatusGatewayTimeout, "upstream_timeout", fmt.Sprintf("upstream %q: the call ran past its limit of %v (CALL_TIMEOUT_MS)", u.Name, w.c.CallTimeout))
	case err != nil:
		WriteError(rw, http.StatusBadGateway, "upstream_unreachable", fmt.Sprintf("upstream %q: the answer broke off: %s", u.Name, netReason(err)))
	case int64(len(b)) > w.c.MaxResponseBytes:
		WriteError(rw, http.StatusBadGateway, "response_too_large", fmt.Sprintf("upstream %q answered more than %d bytes (MAX_RESPONSE_BYTES)", u.Name, w.c.MaxResponseBytes))
	default:
		rw.WriteHeader(resp.StatusCode)
		sc := newScrubber(rw, w.c.secrets())
		sc.Write(b)
		sc.Close()
	}
}

// stream copies a server-sent-event answer to the client chunk by chunk
// as it arrives, with the secrets scrubbed, up to MaxResponseBytes; a
// stream cut for a limit or a failure ends with an error event.
func (w *worker) stream(rw http.ResponseWriter, resp *http.Response, ctx context.Context, name string) {
	sc := newScrubber(rw, w.c.secrets())
	flush := func() {
		if f, ok := rw.(http.Flusher); ok {
			f.Flush()
		}
	}
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		if n += int64(k); n > w.c.MaxResponseBytes {
			w.fail(rw, sc, "response_too_large", fmt.Sprintf("upstream %q sent more than %d bytes (MAX_RESPONSE_BYTES); the answer was cut", name, w.c.MaxResponseBytes))
			return
		}
		if k > 0 {
			if _, werr := sc.Write(buf[:k]); werr != nil {
				return // the client went away; the deferred cancel aborts the upstream
			}
			flush()
		}
		switch {
		case err == io.EOF:
			sc.Close()
			flush()
			return
		case err != nil && ctx.Err() != nil:
			w.fail(rw, sc, "upstream_timeout", fmt.Sprintf("upstream %q: the call ran past its limit of %v; the answer was cut", name, w.c.CallTimeout))
			return
		case err != nil:
			w.fail(rw, sc, "upstream_unreachable", fmt.Sprintf("upstream %q: the answer broke off: %s", name, netReason(err)))
			return
		}
	}
}

// fail ends a stream that has begun with an error event in OpenAI's shape
// (after a blank line, in case the cut fell inside an event).
func (w *worker) fail(rw http.ResponseWriter, sc *scrubber, code, msg string) {
	noteCode(rw, code)
	sc.Close()
	fmt.Fprintf(rw, "\n\nevent: error\ndata: {\"error\":{\"message\":%q,\"type\":\"server_error\",\"param\":null,\"code\":%q}}\n\n", msg, code)
	if f, ok := rw.(http.Flusher); ok {
		f.Flush()
	}
}

// readBody reads a request body up to MaxRequestBytes.
func (w *worker) readBody(rw http.ResponseWriter, r *http.Request) ([]byte, bool) {
	max := w.c.MaxRequestBytes
	tooLarge := func() ([]byte, bool) {
		WriteError(rw, http.StatusRequestEntityTooLarge, "request_too_large", fmt.Sprintf("the request body is over the limit of %d bytes (MAX_REQUEST_BYTES)", max))
		return nil, false
	}
	if r.ContentLength > max {
		return tooLarge()
	}
	if r.Body == nil || r.Method == http.MethodGet {
		return nil, true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		WriteError(rw, http.StatusBadRequest, "bad_request", "the request body could not be read")
		return nil, false
	}
	if int64(len(b)) > max {
		return tooLarge()
	}
	return b, true
}

// netReason says why the network failed without naming an address.
func netReason(err error) string {
	s := strings.ToLower(err.Error())
	switch {
	case strings.Contains(s, "refused"):
		return "connection refused"
	case strings.Contains(s, "no such host"), strings.Contains(s, "dns"):
		return "the host name does not resolve"
	case strings.Contains(s, "reset"), strings.Contains(s, "lost"), strings.Contains(s, "closed"), strings.Contains(s, "eof"):
		return "the connection was lost"
	case strings.Contains(s, "tls"), strings.Contains(s, "certificate"):
		return "TLS failed"
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline"):
		return "it timed out"
	}
	return "the network failed"
}
