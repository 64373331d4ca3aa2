package engine

import "github.com/twig-project/twig/core/canvas"

// Schedule cuts the painter's canvas g into k nearly equal bands of pixel
// rows whose edges are multiples of g.Unit, the larger ones first: k = 3 on
// TokenGeometry gives rows [0,96) [96,176) [176,256). k is clamped to
// [1, g.Height/g.Unit].
func Schedule(k int, g Geometry) []Rows {
	plan, err := canvas.Schedule(k, g.Height, g.Unit)
	if err != nil {
		return nil // g.Check refuses such a canvas first
	}
	return plan
}
