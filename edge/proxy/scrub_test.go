//go:build !js

package proxy

import (
	"bytes"
	"strings"
	"testing"
)

// scrubChunks writes in as the given chunks and returns what came out,
// checking that nothing is held back at an SSE event's end.
func scrubChunks(secrets []string, chunks []string) string {
	var out bytes.Buffer
	s := newScrubber(&out, secrets)
	for _, c := range chunks {
		s.Write([]byte(c))
	}
	s.Close()
	return out.String()
}

func TestScrubber(t *testing.T) {
	secrets := []string{"sk-SECRET", "tok-42x"}
	for _, tc := range []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"key sk-SECRET end", "key [redacted] end"},
		{"sk-SECRETsk-SECRET tok-42x", "[redacted][redacted] [redacted]"},
		{"sk-SECRE", "sk-SECRE"}, // a prefix at the end is released on Close
		{"short abc", "short abc"},
	} {
		// Every way of cutting the input in two (and in single bytes).
		for cut := 0; cut <= len(tc.in); cut++ {
			if got := scrubChunks(secrets, []string{tc.in[:cut], tc.in[cut:]}); got != tc.want {
				t.Fatalf("%q cut at %d: %q, want %q", tc.in, cut, got, tc.want)
			}
		}
		if got := scrubChunks(secrets, strings.Split(tc.in, "")); got != tc.want {
			t.Fatalf("%q byte by byte: %q", tc.in, got)
		}
	}
	// An SSE event passes at once: nothing is held back.
	var out bytes.Buffer
	s := newScrubber(&out, secrets)
	s.Write([]byte("data: {\"text\":\"sk-SECRET\"}\n\n"))
	if out.String() != "data: {\"text\":\"[redacted]\"}\n\n" {
		t.Fatalf("held back or unscrubbed: %q", out.String())
	}
}

func FuzzScrubber(f *testing.F) {
	f.Add("data: sk-SECRET\n\n", 3, 5)
	f.Add("sk-sk-SECRETSECRET", 1, 2)
	f.Fuzz(func(t *testing.T, in string, a, b int) {
		secrets := []string{"sk-SECRET", "SECRETsk"}
		a, b = min(max(a, 0), len(in)), min(max(b, 0), len(in))
		a, b = min(a, b), max(a, b)
		got := scrubChunks(secrets, []string{in[:a], in[a:b], in[b:]})
		for _, k := range secrets {
			if strings.Contains(got, k) {
				t.Fatalf("%q → %q still holds %q", in, got, k)
			}
		}
		if !strings.Contains(in, "sk-SECRET") && !strings.Contains(in, "SECRETsk") && got != in {
			t.Fatalf("%q holds no secret but came out as %q", in, got)
		}
	})
}
