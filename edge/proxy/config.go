package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twig-project/twig/internal/textutil"
)

// Config is the worker's settings: the [vars] of wrangler.toml, and the
// secrets they name. The zero value of a field means its default;
// DefaultConfig is the one place the defaults live.
type Config struct {
	// Upstreams are the only places the worker sends anything, by name (UPSTREAMS).
	Upstreams map[string]*Upstream
	// Default is the upstream of /v1/… (DEFAULT_UPSTREAM; default "twig",
	// or the only upstream).
	Default string
	// Origins are the browser origins allowed besides the worker's own
	// (ORIGINS, comma-separated; "*" allows any).
	Origins []string
	// Token, when set, is required on /v1/ and /u/ (secret CLIENT_TOKEN).
	Token string
	// Rate is the per-client rate limit (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_BURST).
	Rate Rate
	// SharedBucket puts every client in one rate-limit bucket (CLIENT_IP =
	// "shared") instead of one per client IP (CLIENT_IP = "cf-connecting-ip",
	// the default). On Cloudflare the client's IP comes from the
	// CF-Connecting-IP header, which Cloudflare's edge sets itself,
	// overwriting any a client sent. Under `wrangler dev` nothing does:
	// workerd fills it in only when the client did not send one, so a
	// client could pick a fresh bucket per request; `make edge-dev` sets
	// "shared" (every client there is local anyway).
	SharedBucket bool
	// MaxRequestBytes caps an HTTP request body (MAX_REQUEST_BYTES). Default 4 MiB.
	MaxRequestBytes int64
	// MaxResponseBytes caps an upstream's answer, streams included
	// (MAX_RESPONSE_BYTES). Default 8 MiB.
	MaxResponseBytes int64
	// MaxMessageBytes caps a websocket message from a client (MAX_MESSAGE_BYTES). Default 64 KiB.
	MaxMessageBytes int
	// HeaderTimeout bounds the wait for an upstream's response headers
	// (UPSTREAM_TIMEOUT_MS). Default 30 s.
	HeaderTimeout time.Duration
	// CallTimeout bounds one upstream call, its stream included, and one
	// websocket run or call (CALL_TIMEOUT_MS). Default 5 minutes.
	CallTimeout time.Duration
}

// Rate is a token bucket: Burst calls at once, refilled at PerMinute.
type Rate struct {
	// PerMinute is the sustained rate; 0 turns rate limiting off.
	PerMinute int
	// Burst is the bucket's size: calls a client may make at once.
	Burst int
}

// DefaultConfig returns the defaults (and no upstream).
func DefaultConfig() Config {
	return Config{Rate: Rate{PerMinute: 60, Burst: 30}, MaxRequestBytes: 4 << 20, MaxResponseBytes: 8 << 20,
		MaxMessageBytes: 64 << 10, HeaderTimeout: 30 * time.Second, CallTimeout: 5 * time.Minute}
}

// Upstream is one model server the worker may call.
type Upstream struct {
	// Name is its key in UPSTREAMS: clients name it, never its address.
	Name string `json:"-"`
	// Kind is "twig" (a `twig serve`: every endpoint, and /v1/ws through
	// its model calls) or "openai" (an OpenAI-compatible provider: chat
	// completions, image generations and edits, models).
	Kind string `json:"kind"`
	// URL is the API root, e.g. https://api.openai.com/v1.
	URL string `json:"url"`
	// Key is the name of the secret holding the API key (never the key).
	Key string `json:"key,omitempty"`
	// AllowModels, when set, are the only model ids an HTTP request may name.
	AllowModels []string `json:"allow_models,omitempty"`
	// Bands is the number of bands of a websocket run that does not say
	// (settings.bands 0); set it to the upstream model's default. Default 3.
	Bands int `json:"bands,omitempty"`

	secret secret
}

// Kinds of upstream.
const (
	kindTwig   = "twig"
	kindOpenAI = "openai"
)

var (
	secretName   = regexp.MustCompile(`^[A-Z_][A-Z0-9_]{0,63}$`)
	upstreamName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// LoadConfig reads the configuration from env (the Worker's env: vars and
// secrets; natively, the process environment). Its errors name variables
// and secrets, never a secret's value.
func LoadConfig(env func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	get := func(k string) string { v, _ := env(k); return strings.TrimSpace(v) }
	var errs []error
	num := func(k string, dst *int64) {
		v := get(k)
		if v == "" {
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s is %q: want a whole number ≥ 0", k, v))
			return
		}
		if n > 0 {
			*dst = n
		}
	}
	var perMin, burst, msg, hdrMs, callMs int64 = int64(c.Rate.PerMinute), int64(c.Rate.Burst), int64(c.MaxMessageBytes),
		c.HeaderTimeout.Milliseconds(), c.CallTimeout.Milliseconds()
	if v := get("RATE_LIMIT_PER_MINUTE"); v == "0" {
		perMin = 0
	} else {
		num("RATE_LIMIT_PER_MINUTE", &perMin)
	}
	num("RATE_LIMIT_BURST", &burst)
	num("MAX_REQUEST_BYTES", &c.MaxRequestBytes)
	num("MAX_RESPONSE_BYTES", &c.MaxResponseBytes)
	num("MAX_MESSAGE_BYTES", &msg)
	num("UPSTREAM_TIMEOUT_MS", &hdrMs)
	num("CALL_TIMEOUT_MS", &callMs)
	c.Rate = Rate{PerMinute: int(perMin), Burst: int(max(burst, 1))}
	c.MaxMessageBytes = int(min(msg, 1<<20)) // Workers cap a websocket message at 1 MiB
	c.HeaderTimeout, c.CallTimeout = time.Duration(hdrMs)*time.Millisecond, time.Duration(callMs)*time.Millisecond
	for _, o := range strings.Split(get("ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.Origins = append(c.Origins, o)
		}
	}
	switch v := get("CLIENT_IP"); v {
	case "", "cf-connecting-ip":
	case "shared":
		c.SharedBucket = true
	default:
		errs = append(errs, fmt.Errorf("CLIENT_IP is %q: want cf-connecting-ip (one rate-limit bucket per client, on Cloudflare) or shared (one for all, under wrangler dev)", v))
	}
	c.Token, _ = env("CLIENT_TOKEN")
	ups, err := parseUpstreams(get("UPSTREAMS"), env)
	if err != nil {
		errs = append(errs, err)
	}
	c.Upstreams = ups
	c.Default = get("DEFAULT_UPSTREAM")
	switch {
	case c.Default != "" && ups[c.Default] == nil && err == nil:
		errs = append(errs, fmt.Errorf("DEFAULT_UPSTREAM %q is not one of UPSTREAMS (%s)", c.Default, strings.Join(c.names(), ", ")))
	case c.Default == "" && ups[kindTwig] != nil:
		c.Default = kindTwig
	case c.Default == "" && len(ups) == 1:
		c.Default = c.names()[0]
	}
	return c, errors.Join(errs...)
}

func parseUpstreams(s string, env func(string) (string, bool)) (map[string]*Upstream, error) {
	if s == "" {
		return nil, errors.New(`UPSTREAMS is not set: set it in wrangler.toml [vars], e.g. UPSTREAMS = { twig = { kind = "twig", url = "http://127.0.0.1:8080/v1" } }`)
	}
	var ups map[string]*Upstream
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ups); err != nil {
		return nil, fmt.Errorf("UPSTREAMS does not parse (want an object of name → {kind, url, key, allow_models, bands}): %v", err)
	}
	if len(ups) == 0 {
		return nil, errors.New("UPSTREAMS is empty: name at least one upstream")
	}
	var errs []error
	for name, u := range ups {
		if u == nil {
			errs = append(errs, fmt.Errorf("upstream %q is null", name))
			delete(ups, name)
			continue
		}
		u.Name = name
		if err := u.check(env); err != nil {
			errs = append(errs, err)
		}
	}
	return ups, errors.Join(errs...)
}

// check validates the upstream and reads its key from the secret it names.
func (u *Upstream) check(env func(string) (string, bool)) error {
	p, err := url.Parse(u.URL)
	switch {
	case !upstreamName.MatchString(u.Name):
		return fmt.Errorf("upstream name %q: use 1–32 of a-z 0-9 _ - (it appears in URLs)", u.Name)
	case u.Kind != kindTwig && u.Kind != kindOpenAI:
		return fmt.Errorf("upstream %q: kind %q: use %q or %q", u.Name, u.Kind, kindTwig, kindOpenAI)
	case err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "":
		return fmt.Errorf("upstream %q: url %q is not an http(s) URL such as https://api.openai.com/v1", u.Name, u.URL)
	case p.User != nil:
		return fmt.Errorf("upstream %q: put the key in a secret named by \"key\", not in the URL", u.Name)
	case p.RawQuery != "" || p.Fragment != "":
		return fmt.Errorf("upstream %q: url %q must have no query or fragment", u.Name, p.Redacted())
	case u.Key != "" && !secretName.MatchString(u.Key):
		return fmt.Errorf("upstream %q: key %q must be the NAME of a secret (A-Z, 0-9, _), not the key itself", u.Name, textutil.Clip(u.Key, 8))
	}
	if u.Bands < 0 || u.Bands > 16 {
		return fmt.Errorf("upstream %q: bands %d: use 1–16 (0: 3)", u.Name, u.Bands)
	}
	u.URL = strings.TrimRight(u.URL, "/")
	if u.Key != "" {
		v, ok := env(u.Key)
		if v = strings.TrimSpace(v); !ok || v == "" {
			return fmt.Errorf("upstream %q: the secret %s is not set: `wrangler secret put %s` (locally: a line %s=… in .dev.vars)", u.Name, u.Key, u.Key, u.Key)
		}
		u.secret = secret(v)
	}
	return nil
}

func (u *Upstream) bands() int {
	if u.Bands > 0 {
		return u.Bands
	}
	return 3
}

func (c Config) names() []string {
	var n []string
	for k := range c.Upstreams {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// secrets are every secret the worker holds, to scrub from what it sends.
func (c Config) secrets() []string {
	var s []string
	for _, u := range c.Upstreams {
		if u.secret != "" {
			s = append(s, u.secret.Reveal())
		}
	}
	if c.Token != "" {
		s = append(s, c.Token)
	}
	return s
}

// secret is an API key: it prints as [redacted], so no log or error can
// carry it by accident; Reveal gives it to the Authorization header.
// (core/remote has the same type; the worker does not import core/remote,
// whose templates would add 2 MB to the wasm.)
type secret string

func (s secret) Reveal() string               { return string(s) }
func (s secret) String() string               { return redacted }
func (s secret) GoString() string             { return redacted }
func (s secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
