package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// One Guard serves twig serve and the edge worker: the settings each sets
// change what is checked, never the rules.
func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	var codes []string
	g := Guard{Origins: []string{"https://app.example"}, Token: "tok-123456",
		Checked:       func(p string) bool { return strings.HasPrefix(p, "/v1/") || p == "/healthz" },
		Open:          func(p string) bool { return p == "/healthz" },
		OriginHint:    func(o string) string { return "allow " + o },
		ExposeHeaders: []string{"Retry-After"},
		WriteError: func(w http.ResponseWriter, status int, code, msg string) {
			codes = append(codes, code)
			WriteError(w, status, code, msg)
		}}.Handler(ok)
	for _, tc := range []struct {
		name, method, path, host, origin, auth string
		status                                 int
	}{
		{"not checked", "GET", "/index.html", "twig.example", "https://evil.example", "", 200},
		{"open path, no token", "GET", "/healthz", "twig.example", "", "", 200},
		{"no token", "GET", "/v1/models", "twig.example", "", "", 401},
		{"the token", "GET", "/v1/models", "twig.example", "", "Bearer tok-123456", 200},
		{"the token in the query of HTTP", "GET", "/v1/models?access_token=tok-123456", "twig.example", "", "", 401},
		{"the token in the query of a websocket", "GET", "/u/a/v1/ws?access_token=tok-123456", "twig.example", "", "", 200},
		{"a listed origin", "GET", "/v1/models", "twig.example", "https://APP.example/", "Bearer tok-123456", 200},
		{"an origin not listed", "GET", "/v1/models", "twig.example", "https://evil.example", "Bearer tok-123456", 403},
		{"the server's own by IP", "GET", "/v1/models", "127.0.0.1:8080", "http://127.0.0.1:8080", "Bearer tok-123456", 200},
		{"the server's own by a name (DNS rebinding)", "GET", "/v1/models", "evil.example", "http://evil.example", "Bearer tok-123456", 403},
		{"a preflight needs no token", "OPTIONS", "/v1/models", "twig.example", "https://app.example", "", 204},
	} {
		codes = nil
		r := httptest.NewRequest(tc.method, "http://"+tc.host+tc.path, nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		r.Header.Set("Access-Control-Request-Headers", "content-type, x-stainless-lang, x-evil")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.status)
		}
		h := rec.Header()
		switch tc.status {
		case 403:
			if len(codes) != 1 || codes[0] != "origin_not_allowed" || !strings.Contains(rec.Body.String(), "allow "+tc.origin) {
				t.Fatalf("%s: %v %s", tc.name, codes, rec.Body)
			}
		case 401:
			if len(codes) != 1 || codes[0] != "invalid_api_key" || h.Get("WWW-Authenticate") != `Bearer realm="twig"` {
				t.Fatalf("%s: %v %v", tc.name, codes, h)
			}
		case 204:
			if ah := h.Get("Access-Control-Allow-Headers"); !strings.Contains(ah, "x-stainless-lang") || strings.Contains(ah, "x-evil") {
				t.Fatalf("%s: Access-Control-Allow-Headers %q", tc.name, ah)
			}
		}
		if tc.origin != "" && tc.status == 200 && tc.name != "not checked" && (h.Get("Access-Control-Allow-Origin") != tc.origin || h.Get("Access-Control-Expose-Headers") != "X-Request-Id, Retry-After") {
			t.Fatalf("%s: CORS headers %v", tc.name, h)
		}
	}
}
