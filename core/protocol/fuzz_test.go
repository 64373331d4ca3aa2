package protocol_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes to a
// line that decodes to the same event.
func FuzzDecode(f *testing.F) {
	for _, ev := range examples() {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	for _, l := range v1Lines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := protocol.Decode(line)
		if err != nil {
			return
		}
		if _, ok := ev.Payload.(*protocol.Unknown); ok {
			return
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", line, err)
		}
		back, err := protocol.Decode(b)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", b, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Fatalf("round trip changed the event:\n%s\n%s", line, b)
		}
	})
}
