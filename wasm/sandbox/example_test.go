package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/sandbox"
)

// A sandboxed run plays the engine's loop in a WebAssembly guest and the
// model in the host: the same image as engine.Draw, event for event.
func ExampleSandbox_Draw() {
	ctx := context.Background()
	m, err := model.Load(ctx, "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		panic(err)
	}
	sb, err := sandbox.New(ctx, sandbox.Config{CacheDir: filepath.Join(os.TempDir(), "twig-sandbox-test-cache")})
	if err != nil {
		panic(err)
	}
	defer sb.Close(ctx)

	spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 1, Settings: engine.DefaultSettings()}
	var last string
	boxed, err := sb.Draw(ctx, m, spec, func(ev protocol.Event) error { last = ev.Type; return nil })
	if err != nil {
		panic(err)
	}
	native, _ := engine.Draw(ctx, m, spec, nil)
	fmt.Println("last event:", last)
	fmt.Println("same image as engine.Draw:", slices.Equal(boxed.Tokens, native.Tokens))
	// Output:
	// last event: run_done
	// same image as engine.Draw: true
}
