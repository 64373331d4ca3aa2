//go:build twig_noembed

package model

import "embed"

// embedded is empty in builds tagged twig_noembed: Default returns
// ErrNoWeights and weights come from Load or Decode instead.
var embedded embed.FS
