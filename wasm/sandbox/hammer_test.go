package sandbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/engine"
)

// TestFiftyConcurrentRuns hammers one sandbox with 50 runs at once, each
// checked against the native run of its seed.
func TestFiftyConcurrentRuns(t *testing.T) {
	const n = 50
	m := tinyModel(t)
	s := sb(t)
	want := make([]string, n)
	spec := func(i int) engine.RunSpec {
		st := engine.DefaultSettings()
		st.Bands = 1 + i%4
		return engine.RunSpec{Prompt: prompt, Seed: int64(100 + i), Settings: st, RunID: fmt.Sprint("run", i)}
	}
	for i := range n {
		var rec record
		if _, err := engine.Draw(context.Background(), m, spec(i), rec.sink); err != nil {
			t.Fatal(err)
		}
		want[i] = strings.Join(lines(t, rec.evs), "\n")
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var rec record
			res, err := s.Draw(context.Background(), m, spec(i), rec.sink)
			switch {
			case err != nil:
				t.Errorf("run %d: %v", i, err)
			case strings.Join(lines(t, rec.evs), "\n") != want[i]:
				t.Errorf("run %d: its events differ from the native run's", i)
			case res.RunID != fmt.Sprint("run", i):
				t.Errorf("run %d: run ID %q", i, res.RunID)
			}
		})
	}
	wg.Wait()
}
