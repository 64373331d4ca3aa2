package nn

import "testing"

// NumParams, which checks a declared config against a budget before any
// allocation, counts exactly what NewParams allocates.
func TestNumParams(t *testing.T) {
	for _, c := range []Config{
		{Vocab: 240, Ctx: 1024, D: 48, Layers: 2, Heads: 2, GridRows: 16, GridCols: 16},
		{Vocab: 7, Ctx: 3, D: 8, Layers: 1, Heads: 4},
		{Vocab: 300, Ctx: 512, D: 128, Layers: 4, Heads: 4, GridRows: 16, GridCols: 16},
	} {
		if got, want := c.NumParams(), int64(len(NewParams(c).Data)); got != want {
			t.Errorf("%+v: NumParams %d, NewParams allocates %d", c, got, want)
		}
	}
	for _, c := range []Config{
		{Vocab: 240, Ctx: 1 << 40, D: 48, Layers: 2, Heads: 2},
		{Vocab: 240, Ctx: 1024, D: 48, Layers: 1 << 40, Heads: 2},
		{Vocab: 240, Ctx: 1024, D: 1 << 20, Layers: 2, Heads: 2},
		{Vocab: 1 << 40, Ctx: 1024, D: 48, Layers: 2, Heads: 2},
		{Vocab: 240, Ctx: 1024, D: 48, Layers: 2, Heads: 2, GridRows: 1 << 40},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}
