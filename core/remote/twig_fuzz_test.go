package remote

import (
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
)

// FuzzPainterCanvas: a twig server's model list, whatever it holds, gives
// a canvas the engine can cut into bands, or an error; the list twig serve
// writes for a remote image model gives its canvas, one with no extension
// a twig model's.
func FuzzPainterCanvas(f *testing.F) {
	f.Add(`{"object":"list","data":[{"id":"twig","object":"model","twig":{"canvas":{"width":1024,"height":1024,"unit":8}}},{"id":"twig-painter","object":"model","twig":{"canvas":{"width":1024,"height":1024,"unit":8}}}]}`)
	f.Add(`{"data":[{"id":"twig-painter","twig":{"canvas":{"width":256,"height":256,"grid":16,"unit":16}}}]}`)
	f.Add(`{"data":[{"id":"twig-painter"}]}`)
	f.Add(`{"data":[{"id":"twig-painter","twig":{"canvas":{"width":99999,"height":-1,"unit":0}}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		g, err := painterCanvas(strings.NewReader(body))
		if err == nil && g.Check() != nil {
			t.Fatalf("%q gave the canvas %+v, which the engine refuses", body, g)
		}
		if err != nil && (g != engine.Geometry{} || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("%q: %+v with the error %q", body, g, err)
		}
	})
}

func TestPainterCanvas(t *testing.T) {
	for body, want := range map[string]engine.Geometry{
		`{"data":[{"id":"twig-painter","twig":{"canvas":{"width":1024,"height":768,"unit":8}}}]}`: {Width: 1024, Height: 768, Unit: 8},
		`{"data":[{"id":"twig-painter"},{"id":"twig"}]}`:                                          engine.TokenGeometry,
	} {
		if g, err := painterCanvas(strings.NewReader(body)); err != nil || g != want {
			t.Errorf("%s: %+v %v, want %+v", body, g, err, want)
		}
	}
	if _, err := painterCanvas(strings.NewReader(`{"data":[{"id":"twig-painter","twig":{"canvas":{"width":100,"height":100,"unit":7}}}]}`)); err == nil {
		t.Error("a canvas of 100 rows in units of 7 was taken")
	}
}
