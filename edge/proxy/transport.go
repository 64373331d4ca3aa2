package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// headerTimeout bounds the wait for an upstream's response headers, so a
// host that accepts the connection and never answers gives a clean error
// instead of a hang. The answer's body is bounded by the caller's context.
type headerTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (t headerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(t.d, func() { cancel(errHeaderTimeout) })
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() || context.Cause(ctx) == errHeaderTimeout {
		if err == nil {
			resp.Body.Close()
		}
		cancel(nil)
		return nil, fmt.Errorf("%w (%v, UPSTREAM_TIMEOUT_MS)", errHeaderTimeout, t.d)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// noRedirect keeps an http.Client from following redirects: an upstream
// must not send the worker (and its key) to another host.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
