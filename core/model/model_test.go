package model

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

func randomModel(t testing.TB) *Model {
	cfg := NewConfig(32, 1, 2, 1024)
	w, err := NewWeights(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	return New(w)
}

func drawOnce(t *testing.T, m *Model, s engine.Settings, seed int64) (engine.Result, []protocol.Event) {
	var evs []protocol.Event
	res, err := engine.Draw(context.Background(), m, engine.RunSpec{Prompt: "a red circle above a blue square", Seed: seed, Settings: s},
		func(e protocol.Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return res, evs
}

func TestSessionRunsEveryMode(t *testing.T) {
	m := randomModel(t)
	for _, tc := range []struct {
		name string
		mod  func(*engine.Settings)
	}{
		{"think+reflect", func(s *engine.Settings) {}},
		{"no-think", func(s *engine.Settings) { s.Think, s.Reflect = false, false }},
		{"think", func(s *engine.Settings) { s.Reflect = false }},
		{"k2", func(s *engine.Settings) { s.Bands = 2 }},
		{"k4", func(s *engine.Settings) { s.Bands = 4 }},
		{"adaptive", func(s *engine.Settings) { s.Adaptive = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := engine.DefaultSettings()
			tc.mod(&s)
			res, evs := drawOnce(t, m, s, 3)
			for i, tok := range res.Tokens {
				if tok < 0 {
					t.Fatalf("cell %d undrawn", i)
				}
			}
			res2, _ := drawOnce(t, m, s, 3)
			if !bytes.Equal(tokBytes(res.Tokens), tokBytes(res2.Tokens)) {
				t.Fatal("same seed gave different images")
			}
			t.Logf("%d events, stats %+v", len(evs), res.Stats)
		})
	}
}

func tokBytes(t []int) []byte {
	b := make([]byte, len(t))
	for i, v := range t {
		b[i] = byte(v)
	}
	return b
}

// TestCanonicalPromptForm: weights trained on canonical prompts read "a
// below b" as "b above a", keep the form through a save, and a form this
// build does not know is refused with a clear error.
func TestCanonicalPromptForm(t *testing.T) {
	w, err := NewWeights(NewConfig(16, 1, 2, 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	plain := New(w)
	below, _, err := plain.PromptIDs("a red circle below a blue square")
	if err != nil {
		t.Fatal(err)
	}
	above, _, err := plain.PromptIDs("a blue square above a red circle")
	if err != nil {
		t.Fatal(err)
	}
	w.Config.Prompt = PromptCanonical
	canon := New(w)
	got, _, err := canon.PromptIDs("a red circle below a blue square")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(below, above) || !slices.Equal(got, above) {
		t.Fatalf("canonical form of 'red circle below blue square' = %v, want %v (as written %v)", got, above, below)
	}
	data, err := w.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data)
	if err != nil || back.Config.Prompt != PromptCanonical {
		t.Fatalf("prompt form after a save: %v, %v", back, err)
	}
	w.Config.Prompt = "sideways"
	if data, err = w.Encode(); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Fatalf("unknown prompt form: %v", err)
	}
}
