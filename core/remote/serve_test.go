package remote

// Remote roles against a real twig gateway (edge/server, as `twig serve`
// runs it) in this process, over loopback HTTP: the OpenAI-compatible path
// (chat completions + image edits) and the twig model-call path, each
// compared with the embedded model drawing natively.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/server"
)

// testModel is the shipped model when present, else the tiny test model.
func testModel(tb testing.TB) *model.Model {
	if m, err := model.Default(); err == nil {
		return m
	}
	data, err := os.ReadFile("../model/testdata/tiny.safetensors")
	if err != nil {
		tb.Fatal(err)
	}
	w, err := model.Decode(data)
	if err != nil {
		tb.Fatal(err)
	}
	return model.New(w)
}

// counting counts the HTTP requests a client sends.
type counting struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// gateway starts a twig gateway on the embedded model and returns its base URL.
func gateway(tb testing.TB, m *model.Model) string {
	srv, err := server.New(server.Options{Backend: m})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// paths are the ways a run can reach the model.
func paths(m *model.Model, base string, o Options) map[string]func() (engine.Backend, error) {
	src := func(kind, model string) Source {
		return Source{Kind: kind, Endpoint: Endpoint{BaseURL: base, Model: model}}
	}
	all := func(kind, model string) func() (engine.Backend, error) {
		return func() (engine.Backend, error) {
			return NewBackend(Config{Thinker: src(kind, model), Critic: src(kind, model), Painter: src(kind, model), Options: o})
		}
	}
	return map[string]func() (engine.Backend, error){
		"native": func() (engine.Backend, error) { return m, nil },
		"openai": all(KindOpenAI, "twig"),
		"twig":   all(KindTwig, "twig"),
		"mixed": func() (engine.Backend, error) { // embedded painter, remote thinker and critic
			return NewBackend(Config{Thinker: src(KindOpenAI, "twig-thinker"), Critic: src(KindTwig, "twig"),
				Painter: Source{Kind: KindEmbedded}, Embedded: m, Options: o})
		},
	}
}

func TestAgainstTwigGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("draws with the embedded model")
	}
	m := testModel(t)
	base := gateway(t, m)
	cnt := &counting{rt: http.DefaultTransport}
	o := Options{HTTPClient: &http.Client{Transport: cnt}, CallTimeout: time.Minute}
	for _, name := range []string{"openai", "twig", "mixed"} {
		t.Run(name, func(t *testing.T) {
			cnt.n.Store(0)
			b, err := paths(m, base, o)[name]()
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			deltasPerBand := map[int]int{}
			res, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 3,
				Settings: engine.DefaultSettings()}, func(ev protocol.Event) error {
				types[ev.Type]++
				if d, ok := ev.Payload.(*protocol.ThoughtDelta); ok {
					deltasPerBand[d.Band]++
				}
				return nil
			})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			bands := len(res.Bands)
			if types["run_done"] != 1 || types["critique"] < bands || types["band_progress"] < bands || len(deltasPerBand) != bands {
				t.Errorf("events %v over %d bands", types, bands)
			}
			for band, n := range deltasPerBand {
				if n < 3 {
					t.Errorf("band %d: %d thought deltas: the thought must stream token by token", band, n)
				}
			}
			for i, th := range res.Thoughts {
				if !strings.HasPrefix(th, "rows ") {
					t.Errorf("thought %d %q: want the model's own thought", i, th)
				}
			}
			for _, tok := range res.Tokens {
				if tok < 0 {
					t.Fatal("the final canvas has undrawn cells")
				}
			}
			t.Logf("%s: %d HTTP calls, %d bands, %d critiques, %d redraws", name, cnt.n.Load(), bands, res.Stats.Critiques, res.Stats.Revisions)
		})
	}
}

// BenchmarkRoundTrip draws one TwiG image (think + reflect) natively and
// through a loopback twig gateway (in this process) over each remote path:
// HTTP calls, wall ms and CPU ms (client and server together) per image.
func BenchmarkRoundTrip(b *testing.B) {
	m := testModel(b)
	base := gateway(b, m)
	cnt := &counting{rt: http.DefaultTransport}
	ps := paths(m, base, Options{HTTPClient: &http.Client{Transport: cnt}})
	for _, name := range []string{"native", "openai", "twig", "mixed"} {
		b.Run(name, func(b *testing.B) {
			bk, err := ps[name]()
			if err != nil {
				b.Fatal(err)
			}
			cnt.n.Store(0)
			t0, c0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				_, err := engine.Draw(context.Background(), bk, engine.RunSpec{Prompt: "a red circle above a blue square", Seed: int64(i + 1),
					Settings: engine.DefaultSettings()}, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds())/float64(b.N), "ms/image")
			b.ReportMetric(float64((cpuTime()-c0).Milliseconds())/float64(b.N), "cpu-ms/image")
			b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "calls/image")
		})
	}
}
