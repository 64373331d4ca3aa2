//go:build !js

package proxy

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	twig := `{"twig":{"kind":"twig","url":"http://127.0.0.1:8080/v1/"}}`
	for _, tc := range []struct {
		name string
		env  env
		err  string // "" = valid
		want func(Config) bool
	}{
		{"defaults", env{"UPSTREAMS": twig}, "", func(c Config) bool {
			return c.Default == "twig" && c.Rate == Rate{60, 30} && c.MaxRequestBytes == 4<<20 && c.HeaderTimeout == 30*time.Second &&
				c.Upstreams["twig"].URL == "http://127.0.0.1:8080/v1" && c.Upstreams["twig"].bands() == 3
		}},
		{"settings", env{"UPSTREAMS": twig, "RATE_LIMIT_PER_MINUTE": "0", "ORIGINS": "https://a.example, https://b.example", "UPSTREAM_TIMEOUT_MS": "250", "MAX_MESSAGE_BYTES": "999999999"}, "", func(c Config) bool {
			return c.Rate.PerMinute == 0 && len(c.Origins) == 2 && c.HeaderTimeout == 250*time.Millisecond && c.MaxMessageBytes == 1<<20
		}},
		{"the only upstream is the default", env{"UPSTREAMS": `{"oa":{"kind":"openai","url":"https://api.openai.com/v1","key":"OPENAI_API_KEY"}}`, "OPENAI_API_KEY": "sk-x"}, "", func(c Config) bool {
			return c.Default == "oa" && c.Upstreams["oa"].secret.Reveal() == "sk-x"
		}},
		{"no upstreams", env{}, "UPSTREAMS is not set", nil},
		{"not JSON", env{"UPSTREAMS": "twig=http://x"}, "does not parse", nil},
		{"unknown field", env{"UPSTREAMS": `{"a":{"kind":"twig","url":"http://x/v1","keys":"K"}}`}, "unknown field", nil},
		{"bad kind", env{"UPSTREAMS": `{"a":{"kind":"grpc","url":"http://x/v1"}}`}, `kind "grpc"`, nil},
		{"not http", env{"UPSTREAMS": `{"a":{"kind":"twig","url":"file:///etc/passwd"}}`}, "not an http(s) URL", nil},
		{"key in the URL", env{"UPSTREAMS": `{"a":{"kind":"twig","url":"http://u:sk-live-123@x/v1"}}`}, "not in the URL", nil},
		{"a query", env{"UPSTREAMS": `{"a":{"kind":"twig","url":"http://x/v1?key=1"}}`}, "no query", nil},
		{"the key itself instead of its name", env{"UPSTREAMS": `{"a":{"kind":"openai","url":"https://x/v1","key":"sk-live-abcdefghijkl"}}`}, "NAME of a secret", nil},
		{"a missing secret", env{"UPSTREAMS": `{"a":{"kind":"openai","url":"https://x/v1","key":"OPENAI_API_KEY"}}`}, "wrangler secret put OPENAI_API_KEY", nil},
		{"a bad name", env{"UPSTREAMS": `{"A/B":{"kind":"twig","url":"http://x/v1"}}`}, "upstream name", nil},
		{"an unknown default", env{"UPSTREAMS": twig, "DEFAULT_UPSTREAM": "openai"}, "DEFAULT_UPSTREAM", nil},
		{"a bad number", env{"UPSTREAMS": twig, "RATE_LIMIT_BURST": "lots"}, "RATE_LIMIT_BURST", nil},
		{"one bucket per client by default", env{"UPSTREAMS": twig}, "", func(c Config) bool { return !c.SharedBucket }},
		{"one bucket for all", env{"UPSTREAMS": twig, "CLIENT_IP": "shared"}, "", func(c Config) bool { return c.SharedBucket }},
		{"a bad CLIENT_IP", env{"UPSTREAMS": twig, "CLIENT_IP": "x-forwarded-for"}, "CLIENT_IP", nil},
	} {
		c, err := LoadConfig(tc.env.lookup)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
		case tc.err != "" && strings.Contains(err.Error(), "sk-live-abcdefghijkl"):
			t.Errorf("%s: the error repeats the key: %v", tc.name, err)
		case tc.want != nil && !tc.want(c):
			t.Errorf("%s: %+v", tc.name, c)
		}
	}
}

// A misconfigured worker says what to fix, on every request.
func TestConfigErrorAnswers(t *testing.T) {
	e := env{"UPSTREAMS": `{"a":{"kind":"openai","url":"https://x/v1","key":"OPENAI_API_KEY"}}`}
	c, err := LoadConfig(e.lookup)
	if err == nil {
		t.Fatal("no error")
	}
	h := NewHandler(c, err, NativeRuntime(nil))
	rec := newRecorder()
	h.ServeHTTP(rec, mustRequest("GET", "/v1/models"))
	wantError(t, rec.Code, rec.Body.String(), 500, "config_error")
	if !strings.Contains(rec.Body.String(), "OPENAI_API_KEY") {
		t.Fatalf("the error does not name the secret: %s", rec.Body)
	}
}

func TestSecretPrintsRedacted(t *testing.T) {
	s := secret("sk-123456")
	for _, got := range []string{s.String(), s.GoString(), strings.TrimSpace(sprint(s))} {
		if got != redacted {
			t.Fatalf("secret printed as %q", got)
		}
	}
}
