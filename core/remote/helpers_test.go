package remote

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// answer is one recorded upstream answer, replayed by an upstream.
type answer struct {
	status int
	header map[string]string
	file   string // testdata file holding the body
	body   string // or the body itself
	hold   bool   // wait until the client goes away
	delay  time.Duration
}

// seen is a request the upstream received.
type seen struct {
	path   string
	header http.Header
	body   []byte
}

// upstream replays answers in order (the last one repeats) and records
// the requests.
type upstream struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	reqs    []seen
	gone    chan struct{} // closed when a held request's client went away
}

func newUpstream(t *testing.T, answers ...answer) *upstream {
	u := &upstream{t: t, answers: answers, gone: make(chan struct{}, 16)}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.reqs = append(u.reqs, seen{path: r.URL.Path, header: r.Header.Clone(), body: body})
	a := u.answers[min(len(u.reqs), len(u.answers))-1]
	u.mu.Unlock()
	if a.hold {
		<-r.Context().Done()
		u.gone <- struct{}{}
		return
	}
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
	}
	b := []byte(a.body)
	if a.file != "" {
		var err error
		if b, err = os.ReadFile(filepath.Join("testdata", a.file)); err != nil {
			u.t.Error(err)
		}
	}
	ct := "application/json"
	if filepath.Ext(a.file) == ".sse" {
		ct = "text/event-stream"
	}
	w.Header().Set("Content-Type", ct)
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	w.Write(b)
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func (u *upstream) endpoint(model string) Endpoint {
	return Endpoint{BaseURL: u.URL + "/v1", Model: model, APIKey: testKey}
}

// testKey is the API key of the tests: it must never show up anywhere.
const testKey Secret = "sk-test-4f9a1c0b7e2d4e6f8a9b0c1d2e3f4a5b"

// fastOptions retry without waiting and record the waits asked for.
func fastOptions(waits *[]time.Duration) Options {
	o := Options{Retries: 3, CallTimeout: 5 * time.Second}
	var mu sync.Mutex
	o.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if waits != nil {
			*waits = append(*waits, d)
		}
		return ctx.Err()
	}
	return o
}

// testScene is a red circle above a blue square.
var testScene = scene.Scene{Objects: []scene.Object{
	{Color: 0, Shape: 0, Size: 0, Texture: 0, X: 2, Y: 1},
	{Color: 2, Shape: 1, Size: 1, Texture: 1, X: 6, Y: 8},
}}

// tokenCanvas is the canvas a token model leaves having painted the whole
// token rows of t (rows with -1 stay undrawn): engine.TokenGeometry's, its
// pixels the world's picture of the tokens.
func tokenCanvas(t tokens.Tokens) *canvas.Canvas {
	c, _ := engine.TokenGeometry.NewCanvas()
	pic := tokens.Picture(t)
	for r := range tokens.Grid {
		row := t[r*tokens.Grid : (r+1)*tokens.Grid]
		if slices.Contains(row, -1) {
			continue
		}
		rows := protocol.Rows{Start: r * 16, End: (r + 1) * 16}
		if err := c.Put(canvas.Strip{Rows: rows, W: 256, Pix: slices.Clone(pic.Pix[4*256*rows.Start : 4*256*rows.End]), Tokens: slices.Clone(row)}); err != nil {
			panic(err)
		}
	}
	return c
}

// state is band `band` of the 3-band schedule with the rows above drawn.
func state(band int) engine.State {
	s := engine.DefaultSettings()
	s.Bands, s.Seed = 3, 7
	rows := engine.Schedule(3, engine.TokenGeometry)[band]
	t := scene.Render(testScene)
	for i := rows.Start / 16 * tokens.Grid; i < len(t); i++ {
		t[i] = -1
	}
	thoughts := []string{"a small red circle on the left", "the red circle ends; nothing else"}[:band]
	return engine.State{Prompt: "a red circle above a blue square", Settings: s, Band: band, Rows: rows, Thoughts: thoughts, Canvas: tokenCanvas(t)}
}

// drawn is st with its band's rows drawn as the scene has them.
func drawn(st engine.State) engine.State {
	full := scene.Render(testScene)
	t := tokens.Tokens(slices.Clone(st.Canvas.Tokens))
	copy(t[st.Rows.Start/16*tokens.Grid:st.Rows.End/16*tokens.Grid], full[st.Rows.Start/16*tokens.Grid:])
	st.Canvas = tokenCanvas(t)
	return st
}

func stringsReader(s string) io.Reader { return &sreader{s: s} }

type sreader struct{ s string }

func (r *sreader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}
