package render

import (
	"slices"
	"testing"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		text  string
		width int
		n     int
		want  []string
	}{
		{"", 10, 2, nil},
		{"top: a red circle", 10, 3, []string{"top: a red", "circle"}},
		{"one two three four five six", 9, 2, []string{"one two", "three ..."}},
		{"abcdefghijklmnop", 10, 2, []string{"abcdefg..."}},
	} {
		if got := wrap(tc.text, tc.width, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q, %d, %d) = %q, want %q", tc.text, tc.width, tc.n, got, tc.want)
		}
	}
}
