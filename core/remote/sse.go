package remote

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxSSELine caps one line of a server-sent event stream.
const maxSSELine = 1 << 20

// sseReader reads server-sent events (the text/event-stream format): it
// returns each event's data, its "data:" lines joined with newlines.
// Comments (":…"), "event:", "id:" and "retry:" lines are skipped. An
// event cut off by the end of the stream (no blank line after it) is
// dropped, as the format says.
type sseReader struct {
	sc   *bufio.Scanner
	data bytes.Buffer
	has  bool
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	return &sseReader{sc: sc}
}

// next returns the next event's data; io.EOF at the end of the stream.
func (s *sseReader) next() ([]byte, error) {
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(line) == 0 {
			if s.has {
				out := bytes.Clone(s.data.Bytes())
				s.data.Reset()
				s.has = false
				return out, nil
			}
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if len(name) == 0 {
			continue // a comment
		}
		if string(name) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if s.has {
			s.data.WriteByte('\n')
		}
		s.data.Write(value)
		s.has = true
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errors.New("a server-sent event line is over 1 MiB")
		}
		return nil, err
	}
	return nil, io.EOF
}
