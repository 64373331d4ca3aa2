package model

import (
	"testing"

	"github.com/twig-project/twig/core/world"
)

func TestDocStreamLengths(t *testing.T) {
	v := NewVocab(world.ModelWords())
	s := NewDocStream(1, v, DefaultDocOptions)
	maxLen, total := 0, 0
	for i := 0; i < 2000; i++ {
		d := s.Next()
		total += d.Len()
		maxLen = max(maxLen, d.Len())
		for _, tok := range d.Tokens {
			if int(tok) >= v.Size() {
				t.Fatalf("token %d out of vocab", tok)
			}
		}
	}
	t.Logf("vocab %d, mean doc %d tokens, max %d", v.Size(), total/2000, maxLen)
}

func BenchmarkDocStream(b *testing.B) {
	v := NewVocab(world.ModelWords())
	s := NewDocStream(1, v, DefaultDocOptions)
	for i := 0; i < b.N; i++ {
		s.Next()
	}
}
