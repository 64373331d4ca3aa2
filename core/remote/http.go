package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// caller sends one role's requests to one upstream, with the run's deadline.
type caller struct {
	role     string
	ep       Endpoint
	o        Options
	deadline time.Time // the run's; zero = none
}

// request is one kind of HTTP exchange; body makes a fresh body for each try.
type request struct {
	method      string // default POST
	op          string // for errors: "chat completion", "image edit", "model call"
	path        string // appended to the base URL
	contentType string
	accept      string
	body        func() (io.Reader, error)
	limit       int64 // response size cap
}

// do sends r, trying again after 408/409/429/5xx answers and network
// failures, with exponential backoff that honours Retry-After. On a 2xx
// answer it hands the (size-capped) body to read; whatever read returns
// ends the call, because by then part of the answer may have been used.
func (c *caller) do(ctx context.Context, r request, read func(resp *http.Response, body io.Reader) error) error {
	if !c.deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, c.deadline)
		defer cancel()
	}
	for try := 1; ; try++ {
		e, again, wait := c.once(ctx, r, read)
		if e == nil {
			return nil
		}
		e.Tries = try
		if !again || try > c.o.Retries {
			return e
		}
		if wait < 0 {
			wait = c.backoff(try)
		} else if wait > c.o.MaxBackoff {
			e.Message += fmt.Sprintf(" (it asked to retry after %v, longer than the %v we wait)", wait.Round(time.Second), c.o.MaxBackoff)
			return e
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			e.Message += fmt.Sprintf(" (not retried: waiting %v would pass the deadline)", wait.Round(time.Millisecond))
			return e
		}
		if err := c.o.sleep(ctx, wait); err != nil {
			e.Err = fmt.Errorf("%w while waiting to retry", c.ctxErr(ctx))
			return e
		}
	}
}

// once makes one try. It returns nil on success; else the error, whether to
// try again, and how long the upstream asked us to wait (-1: not said).
func (c *caller) once(ctx context.Context, r request, read func(*http.Response, io.Reader) error) (*Error, bool, time.Duration) {
	fail := func(status int, err error) *Error {
		return &Error{Role: c.role, Host: c.ep.Host(), Op: r.op, Status: status, Err: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.o.CallTimeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		var err error
		if body, err = r.body(); err != nil {
			return fail(0, err), false, -1
		}
	}
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(actx, method, c.ep.url(r.path), body)
	if err != nil {
		return fail(0, err), false, -1
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Accept", r.accept)
	req.Header.Set("User-Agent", "twig-remote/1")
	if c.ep.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.ep.APIKey.Reveal())
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail(0, c.ctxErr(ctx)), false, -1
		}
		if actx.Err() != nil {
			return fail(0, fmt.Errorf("no answer within the call timeout (%v)", c.o.CallTimeout)), true, -1
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail(0, err), true, -1
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		e := fail(resp.StatusCode, nil)
		e.Type, e.Code, e.Message = errorBody(b)
		e.Type, e.Code, e.Message = c.ep.APIKey.scrub(e.Type), c.ep.APIKey.scrub(e.Code), c.ep.APIKey.scrub(e.Message)
		return e, retryable(resp.StatusCode), retryAfter(resp.Header)
	}
	err = read(resp, &capReader{r: resp.Body, limit: r.limit})
	if err == nil {
		return nil, false, -1
	}
	e := fail(0, nil) // the status was 2xx: not worth printing
	if u, ok := errors.AsType[*upstreamError](err); ok {
		k := c.ep.APIKey
		e.Type, e.Code, e.Message = k.scrub(u.typ), k.scrub(u.code), k.scrub(u.msg)
		return e, false, -1
	}
	switch {
	case ctx.Err() != nil:
		err = c.ctxErr(ctx)
	case actx.Err() != nil:
		err = fmt.Errorf("the answer did not complete within the call timeout (%v)", c.o.CallTimeout)
	}
	e.Err = err
	return e, false, -1
}

// upstreamError is an error the upstream sent inside a 2xx answer (an
// error event in a stream, a refusal): its text is the upstream's.
type upstreamError struct{ typ, code, msg string }

func (u *upstreamError) Error() string { return u.msg }

// ctxErr says why ctx ended: cancelled, or the run's remote deadline.
func (c *caller) ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) && !c.deadline.IsZero() && !time.Now().Before(c.deadline) {
		return fmt.Errorf("the run's time limit for remote calls ran out: %w", err)
	}
	return err
}

// backoff is the wait before try+1: Backoff·2^(try-1), ±25 % jitter, capped.
func (c *caller) backoff(try int) time.Duration {
	d := c.o.Backoff << min(try-1, 20)
	d = time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
	return min(d, c.o.MaxBackoff)
}

// retryAfter reads retry-after-ms (OpenAI) or Retry-After (seconds or an
// HTTP date); -1 when neither is there.
func retryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return -1
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return -1
}

// capReader fails once more than limit bytes have been read.
type capReader struct {
	r     io.Reader
	n     int64
	limit int64
}

// errTooLarge is returned by a capReader past its limit.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("the answer is over the size limit of %d bytes", e.limit)
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n > c.limit {
		return 0, errTooLarge{c.limit}
	}
	if room := c.limit - c.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.limit {
		return n - int(c.n-c.limit), errTooLarge{c.limit}
	}
	return n, err
}
