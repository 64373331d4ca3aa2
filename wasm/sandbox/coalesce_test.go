package sandbox

import (
	"bytes"
	"testing"
)

// image is the initial memory the data segments make.
func image(t *testing.T, wasm []byte) []byte {
	t.Helper()
	segs, _, _, err := dataSegments(wasm)
	if err != nil {
		t.Fatal(err)
	}
	var mem []byte
	for _, s := range segs {
		if end := int(s.off) + len(s.data); end > len(mem) {
			mem = append(mem, make([]byte, end-len(mem))...)
		}
		copy(mem[s.off:], s.data)
	}
	return mem
}

// TestCoalesceDataKeepsMemory: the coalesced engine guest has the same
// initial memory, in far fewer data segments; modules it cannot read pass
// through unchanged. (The sandboxed-run tests run the coalesced guest.)
func TestCoalesceDataKeepsMemory(t *testing.T) {
	out := coalesceData(guestWasm)
	if !bytes.Equal(image(t, guestWasm), image(t, out)) {
		t.Fatal("coalescing changed the initial memory")
	}
	n := func(wasm []byte) int { segs, _, _, _ := dataSegments(wasm); return len(segs) }
	t.Logf("data segments: %d → %d", n(guestWasm), n(out))
	if n(out) > n(guestWasm)/10 {
		t.Errorf("only %d → %d segments", n(guestWasm), n(out))
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00"), guestWasm[:100]} {
		if got := coalesceData(bad); !bytes.Equal(got, bad) {
			t.Errorf("a module it cannot read was changed")
		}
	}
}
