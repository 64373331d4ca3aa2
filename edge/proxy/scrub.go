package proxy

import (
	"bytes"
	"io"
	"strings"
)

// redacted replaces a secret wherever the worker would send it.
const redacted = "[redacted]"

// scrubber writes a stream with every secret replaced by [redacted], even
// one split across writes: it holds back only a tail that could begin a
// secret (nothing, for an SSE event ending in a blank line), so the stream
// still passes through as it arrives. Secrets under 4 bytes are not
// scrubbed (they would mangle ordinary text).
type scrubber struct {
	w       io.Writer
	secrets [][]byte
	held    []byte
}

func newScrubber(w io.Writer, secrets []string) *scrubber {
	s := &scrubber{w: w}
	for _, k := range secrets {
		if len(k) >= 4 {
			s.secrets = append(s.secrets, []byte(k))
		}
	}
	return s
}

// Write writes p, less a possible secret's beginning at its end.
func (s *scrubber) Write(p []byte) (int, error) {
	if len(s.secrets) == 0 {
		return s.w.Write(p)
	}
	b := append(s.held, p...)
	for _, k := range s.secrets {
		b = bytes.ReplaceAll(b, k, []byte(redacted))
	}
	keep := 0
	for _, k := range s.secrets {
		for n := min(len(k)-1, len(b)); n > keep; n-- {
			if bytes.HasSuffix(b, k[:n]) {
				keep = n
				break
			}
		}
	}
	s.held = append([]byte(nil), b[len(b)-keep:]...)
	if out := b[:len(b)-keep]; len(out) > 0 { // an empty write would block on a pipe
		if _, err := s.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close writes what was held back (the stream ended: it was no secret).
func (s *scrubber) Close() error {
	if len(s.held) == 0 {
		return nil
	}
	_, err := s.w.Write(s.held)
	s.held = nil
	return err
}

// scrubAll scrubs header values.
func scrubAll(vs []string, secrets []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		for _, k := range secrets {
			if len(k) >= 4 {
				v = strings.ReplaceAll(v, k, redacted)
			}
		}
		out[i] = v
	}
	return out
}
