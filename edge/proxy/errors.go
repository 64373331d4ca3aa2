package proxy

import (
	"encoding/json"
	"net/http"

	"github.com/twig-project/twig/edge/httpapi"
)

// WriteError answers with a JSON error in the OpenAI shape,
// {"error":{"message","type","param","code"}}, written by the gateway's
// own writer (httpapi.WriteError), so one client handles the worker and
// `twig serve` alike; it notes the code for the request's log line. code is
// the machine-readable reason (below). Errors are never cached.
//
// Codes of the worker's own refusals: not_found, upstream_not_allowed,
// no_default_upstream, endpoint_not_allowed, origin_not_allowed,
// invalid_api_key, rate_limited, rate_limiter_unavailable,
// request_too_large, model_not_allowed, upstream_unreachable,
// upstream_timeout, upstream_redirect, response_too_large, config_error,
// upgrade_required, too_many_connections, bad_request, internal. Upstream
// answers (any status) pass through as they are.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	noteCode(w, code)
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteError(w, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
