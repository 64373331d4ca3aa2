package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

func TestPackerFillsRowsWithWholeDocuments(t *testing.T) {
	v := model.NewVocab(thought.ModelWords())
	s := model.NewDocStream(3, v, model.DefaultDocOptions)
	p := newPacker(2, 700)
	b, weighted := p.fill(s.Next)
	if weighted == 0 {
		t.Fatal("no weighted targets")
	}
	for i := range b.Tokens {
		r, t0 := i/b.T, i%b.T
		ds := int(b.DocStart[i])
		if ds > t0 || (t0 > 0 && ds != t0 && ds != int(b.DocStart[i-1])) {
			t.Fatalf("row %d pos %d: bad doc start %d", r, t0, ds)
		}
		if int(b.Pos[i]) != t0-ds {
			t.Fatalf("row %d pos %d: position %d, want %d", r, t0, b.Pos[i], t0-ds)
		}
	}
}

func TestCheckpointResumeIsExact(t *testing.T) {
	o := Tiny()
	o.D, o.Layers, o.Heads, o.Rows, o.RowTokens, o.Steps, o.CkptEvery = 16, 1, 2, 2, 256, 6, 3
	dir := t.TempDir()
	full, err := Run(context.Background(), o, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "ck.gob")
	half := o
	half.Steps = 6
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Run(ctx, half, ck, true, func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("expected cancellation")
	}
	resumed, err := Run(context.Background(), o, ck, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Params.Data {
		if full.Params.Data[i] != resumed.Params.Data[i] {
			t.Fatalf("param %d differs after resume: %g vs %g", i, full.Params.Data[i], resumed.Params.Data[i])
		}
	}
}

// TestTinyTrainingLearns is CI's proof that the trainer learns: `twig train
// --tiny` end to end (about a minute on 2 cores). Set TWIG_SLOW=1 to run it.
func TestTinyTrainingLearns(t *testing.T) {
	if os.Getenv("TWIG_SLOW") == "" {
		t.Skip("slow: set TWIG_SLOW=1 (make test-slow)")
	}
	var first, last float32
	w, err := Run(context.Background(), Tiny(), "", false, func(p Progress) {
		if p.Step == 1 {
			first = p.Loss
		}
		last = p.Loss
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.3f → %.3f", first, last)
	if last > first/3 {
		t.Fatalf("loss fell only from %.3f to %.3f", first, last)
	}
	// Beats chance: teacher-forced on fresh documents, the model's
	// probability of the right token for cells that hold an object (not the
	// easy empty cells) is at least twice a uniform guess among the image
	// tokens (measured: about 3×; the full model reaches ~60 % accuracy).
	nll := objectCellNLL(w, 40)
	chance := math.Log(tokens.NumImageTokens)
	t.Logf("object-cell loss %.3f nats (uniform guess %.3f)", nll, chance)
	if nll > chance-math.Ln2 {
		t.Fatalf("tiny model does not beat chance: object-cell loss %.3f vs %.3f", nll, chance)
	}
}

// objectCellNLL feeds n fresh documents token by token and returns the mean
// negative log-likelihood of non-empty image-token targets.
func objectCellNLL(w *model.Weights, n int) float64 {
	s := model.NewDocStream(987654321, w.Vocab, model.DefaultDocOptions)
	dec := nn.NewDecoder(w.Params, w.Config.Net.Ctx)
	var sum float64
	total := 0
	for k := 0; k < n; k++ {
		d := s.Next()
		dec.Reset()
		for i := 0; i+1 < d.Len(); i++ {
			logits := dec.Step(d.Tokens[i], int32(i), d.Row[i], d.Col[i])
			next := d.Tokens[i+1]
			if next <= 0 || int(next) >= tokens.NumImageTokens || d.Weight[i+1] == 0 {
				continue
			}
			mx := logits[0]
			for _, l := range logits {
				mx = max(mx, l)
			}
			var z float64
			for _, l := range logits {
				z += math.Exp(float64(l - mx))
			}
			sum += math.Log(z) - float64(logits[next]-mx)
			total++
		}
	}
	return sum / float64(max(total, 1))
}

// A run whose vocabulary grows mid-way: continuing from the weights saved at
// the growth step (no optimiser state) reaches the same weights as the run
// from scratch, and the old embedding rows are carried over.
func TestGrowthContinuesExactly(t *testing.T) {
	o := Tiny()
	o.D, o.Layers, o.Heads, o.Rows, o.RowTokens, o.Steps = 16, 1, 2, 2, 256, 6
	o.Docs = model.DefaultDocOptions
	o.Mixes = []Mix{{From: 3, Docs: model.ReflectDocOptions}}
	o.Grow = &Growth{At: 3, Words: len(thought.ModelWords()) - len(thought.ReviewWords)}
	full, err := Run(context.Background(), o, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full.Config.Net.Vocab != model.NewVocab(thought.ModelWords()).Size() {
		t.Fatalf("grown vocabulary %d", full.Config.Net.Vocab)
	}
	first := o
	first.Steps = 3
	w3, err := Run(context.Background(), first, "", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(w3.Config.Words) != o.Grow.Words {
		t.Fatalf("before the growth the model has %d words, want %d", len(w3.Config.Words), o.Grow.Words)
	}
	cont, err := Continue(context.Background(), o, "", w3, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range full.Params.Data {
		if full.Params.Data[i] != cont.Params.Data[i] {
			t.Fatalf("param %d differs: %g vs %g", i, full.Params.Data[i], cont.Params.Data[i])
		}
	}
	if _, err := Continue(context.Background(), o, "", w3, 2, nil); err == nil {
		t.Fatal("continuing from a step without an optimiser reset was accepted")
	}
}

// HeldOutAlone sets the option in every phase's documents and leaves the
// recipe it was called on as it was.
func TestHeldOutAloneRecipe(t *testing.T) {
	o := Default()
	a := o.HeldOutAlone()
	if !a.Docs.HeldOutAlone || len(a.Mixes) != len(o.Mixes) {
		t.Fatal("HeldOutAlone did not set the recipe's documents")
	}
	for i, m := range a.Mixes {
		if !m.Docs.HeldOutAlone || o.Mixes[i].Docs.HeldOutAlone {
			t.Fatalf("mix %d: alone %v, the original's %v", i, m.Docs.HeldOutAlone, o.Mixes[i].Docs.HeldOutAlone)
		}
	}
	for s := 0; s < a.Steps; s += 500 {
		if !a.DocsAt(s).HeldOutAlone {
			t.Fatalf("step %d's documents do not keep held-out pairs alone", s)
		}
	}
}
