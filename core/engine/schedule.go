package engine

import "github.com/twig-project/twig/internal/world/tokens"

// Schedule cuts the tokens.Grid rows into k nearly equal bands, the larger
// ones first: k = 3 gives rows [0,6) [6,11) [11,16). k is clamped to [1, Grid].
func Schedule(k int) []Rows {
	k = max(1, min(k, tokens.Grid))
	out := make([]Rows, k)
	start := 0
	for i := range out {
		n := tokens.Grid / k
		if i < tokens.Grid%k {
			n++
		}
		out[i] = Rows{Start: start, End: start + n}
		start += n
	}
	return out
}
