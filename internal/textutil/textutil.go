// Package textutil holds the small text helpers that error messages and
// logs across twig share: the one copy of each, so every surface flattens
// and shortens text the same way (and never cuts a UTF-8 sequence in two).
package textutil

import (
	"strings"
	"unicode/utf8"
)

// OneLine flattens text for a one-line message: every run of white space,
// newlines included, becomes one space, and the ends are trimmed.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Clip shortens s to at most n bytes, on a rune boundary, and marks a cut
// with "…" (so the result may be n+3 bytes). It is for text a client or an
// upstream sent, before it goes into an error message or a log.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "…"
}

// Cut shortens s to at most n bytes, on a rune boundary, with no mark: for
// fields with a hard byte limit (a websocket close reason, a caption).
func Cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
