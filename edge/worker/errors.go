package main

import (
	"encoding/json"
	"net/http"
	"strings"
)

// writeError answers with a JSON error in the OpenAI shape,
// {"error":{"message","type","param","code"}}, as `twig serve` does, so one
// client handles both. code is the machine-readable reason (below).
//
// Codes of the worker's own refusals: not_found, upstream_not_allowed,
// no_default_upstream, endpoint_not_allowed, origin_not_allowed,
// invalid_api_key, rate_limited, rate_limiter_unavailable,
// request_too_large, model_not_allowed, upstream_unreachable,
// upstream_timeout, upstream_redirect, response_too_large, config_error,
// upgrade_required, too_many_connections, bad_request, internal. Upstream
// answers (any status) pass through as they are.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusForbidden:
		typ = "permission_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status >= 500:
		typ = "server_error"
	}
	noteCode(w, code)
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// oneLine flattens text for a one-line message.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
