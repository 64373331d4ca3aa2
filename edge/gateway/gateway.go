package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// Config is what a Gateway is made of. Only Backend is required.
type Config struct {
	// Backend plays the runs and the model calls.
	Backend engine.Backend
	// Limits bound each client; zero fields take their defaults.
	Limits Limits
	// Logger gets one line per connection, run and call (default: discard).
	Logger *slog.Logger
	// Server names the server in hello (default "twig").
	Server string
	// OnEmit, when set, sees every event of every run and call as its
	// producer emits it, before it is queued (metrics, benchmarks). It runs
	// on the producer's goroutine and must be quick.
	OnEmit func(protocol.Event)
	// OnWrite, when set, sees every websocket event once the transport has
	// written it (delivery metrics). It runs on the connection's writer.
	OnWrite func(protocol.Event)
	// Draw runs a whole run; nil means engine.Draw. `twig serve --sandbox`
	// sets it to a sandbox's Draw, which has the same signature, so every
	// server-side run plays its loop inside the WebAssembly guest.
	Draw func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error)
}

// draw runs a whole run with the configured Draw.
func (g *Gateway) draw(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	if g.cfg.Draw != nil {
		return g.cfg.Draw(ctx, b, spec, sink)
	}
	return engine.Draw(ctx, b, spec, sink)
}

// Gateway serves runs and model calls to clients over Transports. It is
// safe for concurrent use; one Gateway serves every connection of a server.
type Gateway struct {
	cfg      Config
	limits   Limits
	log      *slog.Logger
	addrs    *addrCounter
	backend  engine.Backend // cfg.Backend, behind the MaxActive slots
	pictures *Budget        // memory for decoding client pictures

	mu       sync.Mutex
	draining bool
	sessions map[*session]struct{}
	jobs     sync.WaitGroup // runs and calls in flight
	conns    sync.WaitGroup // sessions being served

	stats struct {
		conns, runs, calls, inFlight atomic.Int64
		closes                       sync.Map // close code → *atomic.Int64
	}
}

// Peer says who is on the other end of a connection.
type Peer struct {
	// Addr is the client's address (an IP, no port), the key of the per-address limits.
	Addr string
	// RequestID is the id of the HTTP request that opened the connection, for logs.
	RequestID string
}

// New returns a gateway.
func New(cfg Config) *Gateway {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Server == "" {
		cfg.Server = "twig"
	}
	l := cfg.Limits.withDefaults()
	g := &Gateway{cfg: cfg, limits: l, log: cfg.Logger, sessions: map[*session]struct{}{},
		addrs: newAddrCounter(), pictures: NewBudget(l.PictureBudgetBytes)}
	g.backend = cfg.Backend
	if l.MaxActive > 0 && cfg.Backend != nil {
		g.backend = &limited{Backend: cfg.Backend, slots: make(chan struct{}, l.MaxActive)}
	}
	return g
}

// limited is a backend whose runs wait for one of a fixed number of slots
// (in arrival order) and hold it until they close.
type limited struct {
	engine.Backend
	slots chan struct{}
}

func (l *limited) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free model slot: %w", ctx.Err())
	}
	r, err := l.Backend.NewRun(ctx, spec)
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedRun{Run: r, slots: l.slots}, nil
}

func (l *limited) Name() string {
	if n, ok := l.Backend.(engine.Named); ok {
		return n.Name()
	}
	return ""
}

// Geometry implements engine.Sizer: the backend's painter's canvas when it
// says, else a twig model's (calls with no size are on it).
func (l *limited) Geometry() engine.Geometry {
	if s, ok := l.Backend.(engine.Sizer); ok {
		return s.Geometry()
	}
	return engine.TokenGeometry
}

type limitedRun struct {
	engine.Run
	slots chan struct{}
	once  sync.Once
}

func (r *limitedRun) Close() error {
	err := r.Run.Close()
	r.once.Do(func() { <-r.slots })
	return err
}

// Limits returns the gateway's limits with defaults filled in.
func (g *Gateway) Limits() Limits { return g.limits }

// Backend returns the gateway's backend.
func (g *Gateway) Backend() engine.Backend { return g.cfg.Backend }

// Logger returns the gateway's logger.
func (g *Gateway) Logger() *slog.Logger { return g.log }

// Pictures returns the memory budget shared by the decodes of client
// pictures (Limits.PictureBudgetBytes; Stats reports its use).
func (g *Gateway) Pictures() *Budget { return g.pictures }

// Draw plays one run for a client outside a session (an HTTP request):
// counted in Stats.Runs, on the backend behind the MaxActive slots, with
// the configured Draw.
func (g *Gateway) Draw(ctx context.Context, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	g.stats.runs.Add(1)
	return g.draw(ctx, g.backend, spec, sink)
}

// Call plays one model call for a client outside a session (an HTTP
// request): counted in Stats.Calls, on the backend behind the MaxActive
// slots (see the function Call).
func (g *Gateway) Call(ctx context.Context, c protocol.Call, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	g.stats.calls.Add(1)
	return Call(ctx, g.backend, c, emit)
}

// Acquire takes one of addr's in-flight slots (Limits.MaxInFlightPerAddr)
// for a request outside a session (an HTTP request); release gives it back
// when the request ends. It fails with ErrDraining once the gateway drains
// and with ErrTooManyRequests when the address is at its limit.
func (g *Gateway) Acquire(addr string) (release func(), err error) {
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	if draining {
		return nil, ErrDraining
	}
	if !g.addrs.acquireJob(addr, g.limits.MaxInFlightPerAddr) {
		return nil, fmt.Errorf("%w (limit %d)", ErrTooManyRequests, g.limits.MaxInFlightPerAddr)
	}
	g.jobs.Add(1)
	g.stats.inFlight.Add(1)
	return func() {
		g.addrs.releaseJob(addr)
		g.stats.inFlight.Add(-1)
		g.jobs.Done()
	}, nil
}

// Errors of Admit and Acquire.
var (
	ErrDraining        = errors.New("edge: the server is shutting down and takes no new connections or requests")
	ErrTooManyConns    = errors.New("edge: too many connections from this address")
	ErrTooManyRequests = errors.New("edge: too many requests in flight from this address")
)

// Admit says whether a new connection from addr would be served, so that an
// HTTP server can refuse it before upgrading (503 or 429). Serve checks
// again.
func (g *Gateway) Admit(addr string) error {
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	if draining {
		return ErrDraining
	}
	if g.addrs.conns(addr) >= g.limits.MaxConnsPerAddr {
		return fmt.Errorf("%w (limit %d)", ErrTooManyConns, g.limits.MaxConnsPerAddr)
	}
	return nil
}

// Serve plays the session protocol over t until the client goes away, the
// connection is closed for a limit, or Shutdown closes it. It cancels the
// connection's runs and calls before it returns, and closes t.
func (g *Gateway) Serve(ctx context.Context, t Transport, p Peer) error {
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		t.Close(protocol.CloseGoingAway, "server shutting down")
		return ErrDraining
	}
	if !g.addrs.acquireConn(p.Addr, g.limits.MaxConnsPerAddr) {
		g.mu.Unlock()
		t.Close(1013, "too many connections from this address") // 1013: try again later
		return ErrTooManyConns
	}
	s := newSession(ctx, g, t, p)
	g.sessions[s] = struct{}{}
	g.conns.Add(1)
	g.mu.Unlock()
	g.stats.conns.Add(1)
	defer func() {
		g.mu.Lock()
		delete(g.sessions, s)
		g.mu.Unlock()
		g.addrs.releaseConn(p.Addr)
		g.stats.conns.Add(-1)
		g.conns.Done()
	}()
	return s.serve()
}

// Drain stops taking new connections, runs and calls; those in flight go on.
func (g *Gateway) Drain() {
	g.mu.Lock()
	g.draining = true
	g.mu.Unlock()
}

// Shutdown drains the gateway, waits for the runs and calls in flight until
// ctx is done, cancels those still going, then closes every connection with
// 1001 (going away) after its queued events are written. It returns
// ctx.Err() when it had to cancel work.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.Drain()
	done := make(chan struct{})
	go func() { g.jobs.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		g.each(func(s *session) { s.cancelJobs() })
		<-done // cancelled work ends at the next role step
	}
	g.each(func(s *session) { s.shutdown(protocol.CloseGoingAway, "server shutting down", true) })
	g.conns.Wait()
	return err
}

func (g *Gateway) each(f func(*session)) {
	g.mu.Lock()
	ss := make([]*session, 0, len(g.sessions))
	for s := range g.sessions {
		ss = append(ss, s)
	}
	g.mu.Unlock()
	for _, s := range ss {
		f(s)
	}
}

// Stats are a gateway's counters.
type Stats struct {
	// Conns is the number of open connections.
	Conns int64 `json:"conns"`
	// InFlight is the number of runs and calls in flight.
	InFlight int64 `json:"in_flight"`
	// Runs and Calls count those started since the gateway was made.
	Runs  int64 `json:"runs"`
	Calls int64 `json:"calls"`
	// Closes counts connections closed by the gateway, by close code.
	Closes map[int]int64 `json:"closes"`
	// Draining is true once Drain or Shutdown was called.
	Draining bool `json:"draining"`
	// PictureBytes is the memory taken now by client pictures being
	// decoded (estimated from their declared sizes); PictureBytesPeak the
	// most at once. Both stay within Limits.PictureBudgetBytes.
	PictureBytes     int64 `json:"picture_bytes"`
	PictureBytesPeak int64 `json:"picture_bytes_peak"`
}

// Stats returns the gateway's counters.
func (g *Gateway) Stats() Stats {
	s := Stats{Conns: g.stats.conns.Load(), InFlight: g.stats.inFlight.Load(), Runs: g.stats.runs.Load(),
		Calls: g.stats.calls.Load(), Closes: map[int]int64{}}
	s.PictureBytes, s.PictureBytesPeak = g.pictures.Stats()
	g.stats.closes.Range(func(k, v any) bool {
		s.Closes[k.(int)] = v.(*atomic.Int64).Load()
		return true
	})
	g.mu.Lock()
	s.Draining = g.draining
	g.mu.Unlock()
	return s
}

func (g *Gateway) countClose(code int) {
	v, _ := g.stats.closes.LoadOrStore(code, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// addrCounter counts connections and requests in flight per address.
type addrCounter struct {
	mu   sync.Mutex
	conn map[string]int
	jobs map[string]int
}

func newAddrCounter() *addrCounter {
	return &addrCounter{conn: map[string]int{}, jobs: map[string]int{}}
}

func (a *addrCounter) conns(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conn[addr]
}

func (a *addrCounter) acquireConn(addr string, limit int) bool { return a.acquire(a.conn, addr, limit) }
func (a *addrCounter) releaseConn(addr string)                 { a.release(a.conn, addr) }
func (a *addrCounter) acquireJob(addr string, limit int) bool  { return a.acquire(a.jobs, addr, limit) }
func (a *addrCounter) releaseJob(addr string)                  { a.release(a.jobs, addr) }

func (a *addrCounter) acquire(m map[string]int, addr string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m[addr] >= limit {
		return false
	}
	m[addr]++
	return true
}

func (a *addrCounter) release(m map[string]int, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m[addr]--; m[addr] <= 0 {
		delete(m, addr)
	}
}
