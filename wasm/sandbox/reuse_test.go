package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
)

// readyRuns takes n instances from the engine guest's ready pool (waiting
// for ones still being made) and returns how many runs each has played.
func readyRuns(t *testing.T, s *Sandbox, n int) []int {
	t.Helper()
	var runs []int
	for range n {
		select {
		case p := <-s.engine.ready:
			runs = append(runs, p.runs)
			_ = p.mod.Close(context.Background())
		case <-time.After(time.Minute):
			t.Fatalf("the ready pool holds %d instances, want %d", len(runs), n)
		}
	}
	slices.Sort(runs)
	return runs
}

// TestEngineInstancesReused: an engine-guest instance whose run finished
// plays the next runs (Config.FreshEngineInstances off), each run the same
// as a native one; a run stopped part-way (here: cancelled) does not hand
// its instance on, and a fresh one takes its place.
func TestEngineInstancesReused(t *testing.T) {
	m, err := model.Load(context.Background(), "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	events := func(draw func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error), spec engine.RunSpec) string {
		var out []string
		_, err := draw(context.Background(), m, spec, func(ev protocol.Event) error {
			ev.TMs = 0
			if d, ok := ev.Payload.(*protocol.RunDone); ok {
				d.Stats.Timings = protocol.Timings{}
			}
			b, err := ev.MarshalJSON()
			out = append(out, string(b))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	for _, fresh := range []bool{false, true} {
		t.Run(fmt.Sprint("fresh=", fresh), func(t *testing.T) {
			s, err := New(context.Background(), Config{CacheDir: filepath.Join(os.TempDir(), "twig-sandbox-test-cache"), FreshEngineInstances: fresh})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			// Empty the pool New fills, so that what follows is all the runs'.
			if runs := readyRuns(t, s, readyInstances); !slices.Equal(runs, []int{0, 0}) {
				t.Fatalf("New's instances played %v runs", runs)
			}
			for i := range 4 {
				spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: int64(i + 1), RunID: "r", Settings: engine.DefaultSettings()}
				if got, want := events(s.Draw, spec), events(engine.Draw, spec); got != want {
					t.Fatalf("run %d differs from the native run:\n%s\n%s", i, got, want)
				}
			}
			if fresh { // every run made its own instance and closed it
				if n := len(s.engine.ready); n != 0 {
					t.Fatalf("%d instances wait after runs on fresh instances", n)
				}
				return
			}
			// The first run made an instance; it played the other three too.
			p := <-s.engine.ready
			if p.runs != 4 || len(s.engine.ready) != 0 {
				t.Fatalf("the instance played %d runs and %d more wait, want 4 and 0", p.runs, len(s.engine.ready))
			}
			s.engine.ready <- p
			ctx, cancel := context.WithCancel(context.Background())
			n := 0
			_, err = s.Draw(ctx, m, engine.RunSpec{Prompt: "a red circle", Seed: 3}, func(protocol.Event) error {
				if n++; n == 3 {
					cancel()
				}
				return nil
			})
			if engine.Code(err) != protocol.CodeCanceled {
				t.Fatalf("err = %v, want canceled", err)
			}
			if runs := readyRuns(t, s, 1); !slices.Equal(runs, []int{0}) {
				t.Fatalf("after a cancelled run the waiting instance played %v runs, want a fresh one", runs)
			}
		})
	}
}
