package engine_test

import (
	"context"
	"fmt"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
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
			Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onRow func(int, []int)) error {
				for row := req.Rows.Start; row < req.Rows.End; row++ {
					onRow(row, make([]int, tokens.Grid)) // token 0: an empty cell
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
