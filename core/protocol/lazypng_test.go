package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// countingSource counts its encodes.
type countingSource struct {
	n   atomic.Int32
	b64 string
	err error
}

func (c *countingSource) Base64() (string, error) {
	c.n.Add(1)
	return c.b64, c.err
}

// TestLazyPNG: an event with a PNG source writes the bytes of the same
// event with its PNG set, encodes it once however many goroutines write
// it, and never sets the field itself.
func TestLazyPNG(t *testing.T) {
	const png = "iVBORw0KGgo="
	bp := &BandProgress{Band: 1, Round: 2, Rows: Rows{Start: 16, End: 32}, Tokens: []int{3, 4}}
	bpSrc := &countingSource{b64: png}
	bp.SetPNGSource(bpSrc)
	done := &RunDone{Tokens: []int{5}, Thoughts: []string{"a <b> & c"}, Bands: []Rows{{Start: 0, End: 32}}, Stats: Stats{Bands: 1}}
	doneSrc := &countingSource{b64: png}
	done.SetPNGSource(doneSrc)
	eagerBP, eagerDone := *bp, *done
	eagerBP.PNG, eagerDone.PNG = png, png
	eagerBP.lazy, eagerDone.lazy = nil, nil

	for _, c := range []struct {
		lazy, eager Payload
		src         *countingSource
	}{{bp, &eagerBP, bpSrc}, {done, &eagerDone, doneSrc}} {
		want, err := json.Marshal(Event{V: Version, RunID: "r", Seq: 3, Payload: c.eager})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		for i := range got {
			wg.Go(func() {
				got[i], _ = json.Marshal(Event{V: Version, RunID: "r", Seq: 3, Payload: c.lazy})
			})
		}
		wg.Wait()
		for _, g := range got {
			if !bytes.Equal(g, want) {
				t.Fatalf("%T with a source writes\n%s\nwant\n%s", c.lazy, g, want)
			}
		}
		if n := c.src.n.Load(); n != 1 {
			t.Errorf("%T: %d encodes, want 1", c.lazy, n)
		}
		filled, err := WithPNG(c.lazy)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(filled); !bytes.Contains(b, []byte(`"png":"`+png+`"`)) {
			t.Errorf("WithPNG(%T): %s", c.lazy, b)
		}
	}
	if bp.PNG != "" || done.PNG != "" {
		t.Error("encoding an event's PNG set its field")
	}
	if bp.PNGSource() != bpSrc || (&BandProgress{}).PNGSource() != nil {
		t.Error("PNGSource is not the source set")
	}
}

// TestLazyPNGError: a source that fails fails the event's encoding.
func TestLazyPNGError(t *testing.T) {
	d := &RunDone{}
	d.SetPNGSource(&countingSource{err: errors.New("no pixels")})
	if _, err := json.Marshal(Event{V: Version, Payload: d}); err == nil {
		t.Fatal("run_done whose PNG does not encode was written")
	}
	if _, err := WithPNG(d); err == nil {
		t.Fatal("WithPNG of a run_done whose PNG does not encode succeeded")
	}
}
