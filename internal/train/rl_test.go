package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// TestRLStepRuns: one GRPO step on an untrained model runs the real engine,
// packs every rollout's generated tokens and updates the weights.
func TestRLStepRuns(t *testing.T) {
	w, err := model.NewWeights(model.NewConfig(32, 1, 2, 1024), 3)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultRL()
	o.Steps, o.Prompts, o.Group, o.Rows, o.Workers = 1, 2, 4, 4, 2
	// The judge scores an untrained model's noise 0; reward a hash of the
	// picture instead, so that groups vary and the update runs.
	o.reward = func(_ scene.Spec, c tokens.Tokens) float64 {
		n := 0
		for i, t := range c {
			n += (i + 1) * t
		}
		return float64(n%97) / 97
	}
	var got RLProgress
	out, err := RunRL(context.Background(), w, o, "", func(p RLProgress) { got = p })
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 1 || got.Groups != 2 {
		t.Fatalf("progress %+v", got)
	}
	changed := false
	for i := range out.Params.Data {
		changed = changed || out.Params.Data[i] != w.Params.Data[i]
	}
	if got.Kept == 0 || !changed || got.Tokens == 0 {
		t.Fatalf("kept %d groups but trained %d tokens, weights changed %v", got.Kept, got.Tokens, changed)
	}
	t.Logf("%s", got)
}

// TestTinyRLRewardRises is CI's proof that TwiG-RL learns: 40 GRPO steps
// (about 20 s on a quiet machine) from the shipped weights on two prompts of
// the training distribution they still get wrong (the canonical-prompt
// weights: mean reward 0.55 and 0.85 over 32 rollouts each, measured with a
// learning rate of 0; 0.93 → 1.00 over this run on AVX-512); the mean reward of the last eight steps' rollouts beats the first
// eight's. The prompts are chosen for the shipped weights: retrained weights
// that draw them right every time need new ones (a reward that starts at 1
// cannot rise).
// Set TWIG_SLOW=1.
func TestTinyRLRewardRises(t *testing.T) {
	if os.Getenv("TWIG_SLOW") == "" {
		t.Skip("slow: set TWIG_SLOW=1 (make test-slow)")
	}
	m, err := model.Default()
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultRL()
	o.Steps, o.Prompts, o.Group, o.LR, o.Warmup = 40, 2, 16, 1.5e-4, 1
	o.Fixed = []string{"three striped red triangles and two small blue squares", "a blue circle to the right of two red triangles"}
	var rewards []float64
	if _, err := RunRL(context.Background(), m.W, o, "", func(p RLProgress) {
		t.Logf("%s", p)
		rewards = append(rewards, p.MeanReward)
	}); err != nil {
		t.Fatal(err)
	}
	mean := func(x []float64) float64 {
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	first, last := mean(rewards[:8]), mean(rewards[len(rewards)-8:])
	t.Logf("mean reward: first eight steps %.3f, last eight %.3f", first, last)
	if last <= first {
		t.Fatalf("reward did not rise: %.3f → %.3f", first, last)
	}
}

// RL is deterministic for its seed, and a run resumed from its checkpoint
// ends where an uninterrupted one does.
func TestRLDeterministicAndResumes(t *testing.T) {
	w, err := model.NewWeights(model.NewConfig(32, 1, 2, 1024), 5)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultRL()
	o.Steps, o.Prompts, o.Group, o.Rows, o.Workers, o.CkptEvery = 2, 2, 3, 4, 2, 1
	o.reward = func(_ scene.Spec, c tokens.Tokens) float64 { return float64(c[0]%7) / 7 }
	straight, err := RunRL(context.Background(), w, o, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := RunRL(context.Background(), w, o, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(t.TempDir(), "rl.gob")
	half := o
	half.Steps = 1
	if _, err := RunRL(context.Background(), w, half, ck, nil); err != nil {
		t.Fatal(err)
	}
	resumed, err := RunRL(context.Background(), w, o, ck, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range straight.Params.Data {
		if straight.Params.Data[i] != again.Params.Data[i] {
			t.Fatalf("param %d differs between two runs of one seed", i)
		}
		if straight.Params.Data[i] != resumed.Params.Data[i] {
			t.Fatalf("param %d differs after resuming", i)
		}
	}
}
