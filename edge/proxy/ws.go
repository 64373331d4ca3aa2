package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	edgeclient "github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// websocket serves /v1/ws: the session protocol of `twig serve`
// (package edge/gateway's Gateway), its runs and model calls played by upstream
// name's model over one websocket to it (edgeclient.Client), one rate-limit
// token per model call.
func (w *worker) websocket(rw http.ResponseWriter, r *http.Request, name string) {
	u := w.upstream(rw, name)
	if u == nil {
		return
	}
	if u.Kind != kindTwig {
		WriteError(rw, http.StatusNotFound, "endpoint_not_allowed", fmt.Sprintf("upstream %q is %s: the websocket needs a twig upstream; use its HTTP endpoints (%s)", u.Name, u.Kind, endpointList(u.Kind)))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		WriteError(rw, http.StatusUpgradeRequired, "upgrade_required", "/v1/ws is a websocket: connect with a WebSocket client")
		return
	}
	gw := w.gateway(u)
	up := &sessionUpstream{}
	ctx := context.WithValue(context.WithoutCancel(r.Context()), upstreamKey{}, up) // keeps the request id and client
	peer := gateway.Peer{Addr: client(ctx), RequestID: requestID(ctx)}
	if err := gw.Admit(peer.Addr); err != nil {
		WriteError(rw, http.StatusTooManyRequests, "too_many_connections", textutil.OneLine(err.Error()))
		return
	}
	w.rt.Upgrade(rw, r, w.c.MaxMessageBytes, func(t gateway.Transport) {
		defer up.close()
		gw.Serve(ctx, t, peer)
	})
}

var gwMu sync.Mutex

// gateway returns upstream u's gateway, made on first use. In workerd each
// request has its own instance, so a gateway serves one connection there;
// natively it serves them all.
func (w *worker) gateway(u *Upstream) *gateway.Gateway {
	gwMu.Lock()
	defer gwMu.Unlock()
	if g := w.gws[u.Name]; g != nil {
		return g
	}
	g := gateway.New(gateway.Config{Backend: &limitedBackend{w: w, up: u}, Logger: w.log, Server: "twig edge",
		Limits: gateway.Limits{MaxMessageBytes: w.c.MaxMessageBytes, RunTimeout: w.c.CallTimeout}})
	w.gws[u.Name] = g
	return g
}

// sessionUpstream is a client connection's websocket to the upstream,
// dialled at its first model call (and again if it broke); it closes with
// the client's.
type sessionUpstream struct {
	mu     sync.Mutex
	c      *edgeclient.Client
	closed bool
}

type upstreamKey struct{}

// client returns the session's upstream client, dialling when needed.
func (s *sessionUpstream) client(ctx context.Context, w *worker, u *Upstream) (*edgeclient.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("the connection is closing")
	}
	if s.c != nil {
		select {
		case <-s.c.Done():
			s.c = nil
		default:
			return s.c, nil
		}
	}
	dctx, cancel := context.WithTimeout(ctx, w.c.HeaderTimeout)
	defer cancel()
	h := http.Header{"User-Agent": {"twig-edge/1"}, "X-Request-Id": {requestID(ctx)}}
	if u.secret != "" {
		h.Set("Authorization", "Bearer "+u.secret.Reveal())
	}
	t, err := w.rt.Dial(dctx, u.URL+"/ws", h, int(w.c.MaxResponseBytes)) // an answer's cap, as over HTTP
	if err != nil {
		w.log.Warn("upstream websocket failed", "request_id", requestID(ctx), "upstream", u.Name, "err", textutil.OneLine(err.Error()))
		if dctx.Err() != nil || netReason(err) == "it timed out" {
			return nil, fmt.Errorf("upstream %q sent no answer within %v (UPSTREAM_TIMEOUT_MS)", u.Name, w.c.HeaderTimeout)
		}
		var se *StatusError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("upstream %q refused the websocket (HTTP %d)", u.Name, se.Status)
		}
		return nil, fmt.Errorf("upstream %q could not be reached: %s", u.Name, netReason(err))
	}
	c := edgeclient.New(t)
	if _, err := c.Hello(dctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("upstream %q did not greet (is it a twig gateway?)", u.Name)
	}
	s.c = c
	return c, nil
}

func (s *sessionUpstream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.c != nil {
		s.c.Close()
	}
}

// StatusError is a refused websocket handshake: Runtime.Dial's error when
// the upstream answered with Status instead of switching protocols.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("websocket handshake: HTTP %d", e.Status) }

// limitedBackend plays the roles with the session's upstream client and
// charges every model call one token of the client's bucket (a websocket
// run makes several).
type limitedBackend struct {
	w  *worker
	up *Upstream
}

func (b *limitedBackend) Name() string { return "twig edge → " + b.up.Name }

// DefaultBands is the upstream's "bands" (default 3, the paper's K): a
// websocket run plays its loop here, so it needs the number.
func (b *limitedBackend) DefaultBands() int { return b.up.bands() }

func (b *limitedBackend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	s, _ := ctx.Value(upstreamKey{}).(*sessionUpstream)
	if s == nil {
		return nil, errors.New("BUG: a model call outside a websocket session")
	}
	c, err := s.client(ctx, b.w, b.up)
	if err != nil {
		return nil, &engine.Error{Code: protocol.CodeBackend, Band: -1, Err: err}
	}
	in := c.Roles()
	var out engine.Roles
	if rv, ok := in.Thinker.(engine.PlanReviewer); ok {
		out.Thinker = reviewer{thinker{in.Thinker, b}, rv}
	} else if in.Thinker != nil {
		out.Thinker = thinker{in.Thinker, b}
	}
	if in.Painter != nil {
		out.Painter = painter{in.Painter, b}
	}
	if in.Critic != nil {
		out.Critic = critic{in.Critic, b}
	}
	if in.Decider != nil {
		out.Decider = decider{in.Decider, b}
	}
	return limitedRun{roles: out}, nil
}

// take spends one token of the call's client (from ctx).
func (b *limitedBackend) take(ctx context.Context) error {
	w := b.w
	if w.rt.Limiter == nil || w.c.Rate.PerMinute == 0 {
		return nil
	}
	d, err := w.rt.Limiter.Take(ctx, client(ctx), 1, w.c.Rate)
	var code, msg string
	switch {
	case err != nil:
		w.log.Error("rate limiter failed", "request_id", requestID(ctx), "err", err.Error())
		code, msg = "rate_limiter_unavailable", "the rate limiter could not be reached; try again shortly"
	case !d.OK:
		code, msg = "rate_limited", d.message(w.c.Rate)
	default:
		return nil
	}
	// Both error types: Call reads a *CallError's code, a run an *engine.Error's.
	return &gateway.CallError{Code: code, Err: &engine.Error{Code: code, Band: -1, Err: errors.New(msg)}}
}

type limitedRun struct{ roles engine.Roles }

func (r limitedRun) Roles() engine.Roles { return r.roles }
func (r limitedRun) Close() error        { return nil }

type thinker struct {
	engine.Thinker
	b *limitedBackend
}

func (t thinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	if err := t.b.take(ctx); err != nil {
		return "", err
	}
	return t.Thinker.Think(ctx, req, emit)
}

// reviewer is a thinker whose upstream reviews its plans (its hello lists
// the review role); a review is a model call like any other.
type reviewer struct {
	thinker
	rv engine.PlanReviewer
}

func (r reviewer) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	if err := r.b.take(ctx); err != nil {
		return engine.PlanReview{}, err
	}
	return r.rv.ReviewPlan(ctx, req)
}

type painter struct {
	engine.Painter
	b *limitedBackend
}

func (p painter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	if err := p.b.take(ctx); err != nil {
		return err
	}
	return p.Painter.PaintBand(ctx, req, onStrip)
}

// Geometry is the upstream painter's canvas.
func (p painter) Geometry() engine.Geometry { return engine.GeometryOf(p.Painter) }

type critic struct {
	engine.Critic
	b *limitedBackend
}

func (c critic) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	if err := c.b.take(ctx); err != nil {
		return engine.Critique{}, err
	}
	return c.Critic.Critique(ctx, req)
}

type decider struct {
	engine.Decider
	b *limitedBackend
}

func (d decider) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	if err := d.b.take(ctx); err != nil {
		return false, 0, err
	}
	return d.Decider.ShouldThink(ctx, req)
}
