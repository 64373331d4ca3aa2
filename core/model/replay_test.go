package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/twig-project/twig/internal/world/thought"
)

// docsHash hashes the first n documents of a stream.
func docsHash(v *Vocab, o DocOptions, n int) string {
	s := NewDocStream(7, v, o)
	h := sha256.New()
	var b [4]byte
	for i := 0; i < n; i++ {
		d := s.Next()
		for k := range d.Tokens {
			for _, x := range []uint32{uint32(d.Tokens[k]), uint32(d.Row[k]), uint32(d.Col[k]), uint32(d.Weight[k] * 1000)} {
				binary.LittleEndian.PutUint32(b[:], x)
				h.Write(b[:])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Documents without reviews are those the weights before reviews were
// trained on, draw for draw, so `make train` replays the earlier phases.
func TestDocsWithoutReviewsAreUnchanged(t *testing.T) {
	words := thought.ModelWords()
	v := NewVocab(words[:len(words)-len(thought.ReviewWords)])
	if got, want := docsHash(v, DefaultDocOptions, 300), "9ad746b0de9e7f6aa22bbf72f3d993224eaed14b753f1c2f1bfcbb1d3b7bf588"; got != want {
		t.Fatalf("documents without reviews changed: hash %s, want %s", got, want)
	}
}
