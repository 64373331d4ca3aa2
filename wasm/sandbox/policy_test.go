package sandbox_test

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// TestExamplePolicy builds wasm/examples/lowthink and runs it in the
// sandbox: it thinks before band 0, then only after a band whose first
// critique scored below the threshold.
func TestExamplePolicy(t *testing.T) {
	wasm := goGuest(t, "../examples/lowthink")
	for _, tc := range []struct {
		name string
		b    engine.Backend
	}{{"fake", fakeBackend{}}, {"tiny model", tinyModel(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			var rec record
			st := engine.DefaultSettings()
			_, err := sb(t).RunModule(context.Background(), wasm, tc.b, engine.RunSpec{Prompt: prompt, Seed: 2, Settings: st}, rec.sink)
			if err != nil {
				t.Fatal(err)
			}
			first := map[int]int{} // band → first critique's score
			pattern := ""
			for _, ev := range rec.evs {
				switch p := ev.Payload.(type) {
				case *protocol.Critique:
					if p.Round == 0 && p.Parsed {
						first[p.Band] = p.Score
					}
				case *protocol.ThoughtDone:
					score, scored := first[p.Band-1]
					want := p.Band == 0 || !scored || score < st.Threshold
					if (p.Tokens > 0) != want {
						t.Errorf("band %d: thought %q after a first score of %d (scored %v)", p.Band, p.Text, score, scored)
					}
					if p.Tokens > 0 {
						pattern += "T"
					} else {
						pattern += "-"
					}
				case *protocol.RunStarted:
					if p.Backend == "" {
						t.Error("run_started names no backend")
					}
				}
			}
			if tc.name == "fake" && pattern != "T-T" {
				t.Errorf("thought pattern %q, want T-T", pattern)
			}
			t.Logf("thoughts: %s", pattern)
		})
	}
}
