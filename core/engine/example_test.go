package engine_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// A backend made of three functions, run with two bands; the sink prints the
// stream's shape.
func ExampleDraw() {
	backend := engine.FuncBackend{Bands: 2, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				emit("empty ")
				emit("band")
				return "empty band", nil
			}),
			// A token model on engine.TokenGeometry: one strip of 16 pixel
			// rows a token row, white, its 16 tokens 0 (empty cells).
			Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
				for y := req.Rows.Start; y < req.Rows.End; y += 16 {
					onStrip(canvas.Strip{Rows: engine.Rows{Start: y, End: y + 16}, W: 256,
						Pix: bytes.Repeat([]byte{255, 255, 255, 255}, 256*16), Tokens: make([]int, 16)})
				}
				return nil
			}),
			Critic: engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: 95, Parsed: true}, nil
			}),
		}, nil
	}}
	rows := 0
	res, err := engine.Draw(context.Background(), backend, engine.RunSpec{Prompt: "nothing at all", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error {
			switch e := ev.Payload.(type) {
			case *protocol.BandProgress:
				rows++
			case *protocol.ThoughtDone:
				fmt.Printf("band %d thought %q\n", e.Band, e.Text)
			case *protocol.Critique:
				fmt.Printf("band %d: %d rows, score %d, %s\n", e.Band, rows, e.Score, e.Verdict)
				rows = 0
			case *protocol.RunDone:
				fmt.Println("done:", e.Stats.ThoughtTokens, "thought tokens,", e.Stats.ImageTokens, "image tokens")
			}
			return nil
		})
	fmt.Println(err, len(res.Tokens))
	// Output:
	// band 0 thought "empty band"
	// band 0: 8 rows, score 95, pass
	// band 1 thought "empty band"
	// band 1: 8 rows, score 95, pass
	// done: 4 thought tokens, 256 image tokens
	// <nil> 256
}
