package httpapi

import (
	"crypto/subtle"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/twig-project/twig/internal/textutil"
)

// Guard is the browser-origin and token check in front of an HTTP surface:
// `twig serve`'s (Handler) and the edge worker's (edge/proxy), one rule for
// both. It answers CORS preflights, refuses a browser origin that is not
// allowed, and requires the token.
type Guard struct {
	// Origins are the browser origins (scheme://host[:port]) allowed
	// besides the server's own (see originList.allowed); "*" allows any. A
	// request without Origin (not from a browser) is always allowed.
	Origins []string
	// Token, when set, is required: Authorization: Bearer TOKEN, or
	// ?access_token=TOKEN on a websocket path (…/ws), where browsers cannot
	// set headers.
	Token string
	// Checked reports whether a path is guarded at all (nil: every path).
	Checked func(path string) bool
	// Open reports whether a guarded path is open without the token
	// (nil: none), e.g. /healthz.
	Open func(path string) bool
	// OriginHint says how to allow a refused origin, e.g. "start the
	// server with --origins ORIGIN".
	OriginHint func(origin string) string
	// Realm is the WWW-Authenticate realm (default "twig").
	Realm string
	// ExposeHeaders are the response headers a page may read besides
	// X-Request-Id (e.g. the rate limit's).
	ExposeHeaders []string
	// WriteError answers a refusal (default WriteError).
	WriteError func(w http.ResponseWriter, status int, code, msg string)
}

// Handler returns next behind the guard.
func (g Guard) Handler(next http.Handler) http.Handler {
	origins := newOriginList(g.Origins)
	realm := g.Realm
	if realm == "" {
		realm = "twig"
	}
	fail := g.WriteError
	if fail == nil {
		fail = WriteError
	}
	expose := strings.Join(append([]string{"X-Request-Id"}, g.ExposeHeaders...), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Checked != nil && !g.Checked(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			if !origins.allowed(r) {
				msg := "origin " + textutil.Clip(origin, 60) + " is not allowed"
				if g.OriginHint != nil {
					msg += ": " + g.OriginHint(textutil.Clip(origin, 60))
				}
				fail(w, http.StatusForbidden, "origin_not_allowed", msg)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", allowHeaders(r.Header.Get("Access-Control-Request-Headers")))
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", expose)
		}
		if g.Token != "" && (g.Open == nil || !g.Open(r.URL.Path)) && !tokenOK(r, g.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			fail(w, http.StatusUnauthorized, "invalid_api_key", "missing or wrong token: send Authorization: Bearer TOKEN (or ?access_token=TOKEN on the websocket)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowHeaders answers a preflight's header list: the ones browsers' model
// clients send (the openai SDK adds x-stainless-*), and nothing else.
func allowHeaders(asked string) string {
	ok := []string{"authorization", "content-type", "x-request-id", "accept", "openai-beta"}
	for _, h := range strings.Split(asked, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if strings.HasPrefix(h, "x-stainless-") && len(h) < 64 {
			ok = append(ok, h)
		}
	}
	return strings.Join(ok, ", ")
}

func tokenOK(r *http.Request, token string) bool {
	got := ""
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		got = strings.TrimSpace(a[7:])
	} else if q := r.URL.Query().Get("access_token"); q != "" && strings.HasSuffix(r.URL.Path, "/ws") {
		// only on a websocket, where browsers cannot set headers: a token
		// in a URL ends up in logs and histories, so HTTP must use the header
		got = q
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// originList is the allowlist of browser origins.
type originList struct {
	any  bool
	list map[string]bool
}

func newOriginList(origins []string) originList {
	o := originList{list: map[string]bool{}}
	for _, s := range origins {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		switch s {
		case "":
		case "*":
			o.any = true
		default:
			o.list[strings.ToLower(s)] = true
		}
	}
	return o
}

// allowed reports whether the request's Origin may use the server: no
// Origin, a listed one, any with "*", or the server's own origin when the
// request names the server by an IP address or localhost (Host equal to the
// Origin's host). A named host equal to Host is not enough: after DNS
// rebinding, evil.example resolves to the server and the browser sends
// Host: evil.example with Origin: http://evil.example, so a named origin
// must be listed; an IP literal or localhost cannot be rebound.
func (o originList) allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || o.any || o.list[strings.ToLower(strings.TrimRight(origin, "/"))] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host) && unbindable(u.Hostname())
}

// unbindable reports whether host is an IP literal or localhost: names a
// DNS rebinding attack cannot point at the server.
func unbindable(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil
}

// CheckOrigin returns the websocket origin check for origins (the same rule
// as the HTTP endpoints): for wsconn.Upgrade.
func CheckOrigin(origins []string) func(*http.Request) bool {
	return newOriginList(origins).allowed
}
