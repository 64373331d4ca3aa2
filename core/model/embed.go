//go:build !twig_noembed

package model

import "embed"

// embedded holds the shipped weights. Builds tagged twig_noembed (the browser
// build, which fetches its weights from a URL next to the page) leave them out.
//
//go:embed weights
var embedded embed.FS
