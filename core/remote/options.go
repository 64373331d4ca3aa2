package remote

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Endpoint is one upstream model: where it is, which model, and its key.
type Endpoint struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// http://127.0.0.1:8080/v1; paths such as /chat/completions are appended.
	BaseURL string
	// Model is the model id sent with each request.
	Model string
	// APIKey is sent as "Authorization: Bearer KEY" when set.
	APIKey Secret
}

// Host is the upstream's host[:port], for error messages.
func (e Endpoint) Host() string {
	u, err := url.Parse(e.BaseURL)
	if err != nil || u.Host == "" {
		return "(bad URL)"
	}
	return u.Host
}

// check validates the endpoint where it is used.
func (e Endpoint) check(role string) error {
	u, err := url.Parse(e.BaseURL)
	switch {
	case e.BaseURL == "":
		return fmt.Errorf("remote: %s: no base URL: set --base-url (or --%s-url)", role, role)
	case err != nil:
		return fmt.Errorf("remote: %s: the base URL does not parse: use an http(s) URL such as https://api.openai.com/v1", role)
	case u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("remote: %s: base URL %q is not an http(s) URL such as https://api.openai.com/v1", role, u.Redacted())
	case u.User != nil:
		return fmt.Errorf("remote: %s: put the key in an environment variable or --api-key-file, not in the URL", role)
	case e.Model == "":
		return fmt.Errorf("remote: %s: no model: set --model (or --%s-model)", role, role)
	}
	return nil
}

func (e Endpoint) url(path string) string { return strings.TrimRight(e.BaseURL, "/") + path }

// Secret is an API key. It prints, formats and marshals as [redacted], so
// it cannot leak into logs, errors or events by accident; Reveal gives the
// key itself to the one place that needs it, the Authorization header.
type Secret string

const redacted = "[redacted]"

// Reveal returns the key.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format prints [redacted] for every verb.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, redacted) }

// MarshalJSON encodes the secret as "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// scrub removes the key from text an upstream sent (an echoing server must
// not put it into our errors).
func (s Secret) scrub(text string) string {
	if len(s) < 4 {
		return text
	}
	return strings.ReplaceAll(text, string(s), redacted)
}

// Options are the network settings every remote role shares. The zero
// value of a field means its default; DefaultOptions is the one place the
// defaults live.
type Options struct {
	// CallTimeout bounds one HTTP exchange (one try), its stream included. Default 2 minutes.
	CallTimeout time.Duration
	// RunTimeout bounds all the calls of one run, retries and waits
	// included; 0 = no limit beyond the caller's context.
	RunTimeout time.Duration
	// Retries is how many times a call is tried again after a 408, 409, 429,
	// 5xx or network failure (before any of its answer was used). Default 3;
	// -1 = never.
	Retries int
	// Backoff is the first wait between tries; it doubles each time (with
	// jitter), up to MaxBackoff. Default 500 ms.
	Backoff time.Duration
	// MaxBackoff caps a wait. A Retry-After longer than this ends the call
	// with the upstream's error instead of waiting. Default 30 s.
	MaxBackoff time.Duration
	// MaxResponseBytes caps a text answer (chat, model calls), streams
	// included. Default 4 MiB.
	MaxResponseBytes int64
	// MaxImageBytes caps an image answer. Default 32 MiB.
	MaxImageBytes int64
	// ImageSide is the side in pixels of the pictures sent to chat models
	// (scaled from 256 with nearest neighbour). Default 512; 256 (native)
	// for twig models.
	ImageSide int
	// EditSize is the images/edits "size" ("256x256", "1024x1024", …): the
	// size of the picture an image-edit painter paints (the run's canvas is
	// a picture of that size; picture and mask are sent at it). "" sends no
	// size and paints a 1024×1024 picture, what edit models answer by
	// default. Default "".
	EditSize string
	// HTTPClient makes the requests. Default: a client with no overall
	// timeout (CallTimeout bounds each call) and the default transport.
	HTTPClient *http.Client

	// sleep waits between tries (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{CallTimeout: 2 * time.Minute, Retries: 3, Backoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second,
		MaxResponseBytes: 4 << 20, MaxImageBytes: 32 << 20, ImageSide: 512, HTTPClient: http.DefaultClient}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.CallTimeout <= 0 {
		o.CallTimeout = d.CallTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = d.Retries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = d.Backoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = d.MaxResponseBytes
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = d.MaxImageBytes
	}
	if o.ImageSide <= 0 {
		o.ImageSide = d.ImageSide
	}
	if o.HTTPClient == nil {
		o.HTTPClient = d.HTTPClient
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	return o
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
