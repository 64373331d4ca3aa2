package model

import (
	"fmt"

	"github.com/twig-project/twig/internal/world/tokens"
)

// Token ids: image tokens first (their id is their world token value), then
// the special tokens, then words.
const (
	TokBOS      = tokens.NumImageTokens + iota // starts every document
	TokImg                                     // no-think mode: the image follows directly
	TokThink                                   // a thought follows (fixed schedule)
	TokAThink                                  // first thought of an adaptive run
	TokEndThink                                // closes a thought; image rows follow
	TokLook                                    // the model describes the band just drawn
	TokEndLook                                 // closes a description
	TokEnd                                     // end of document
	firstWordToken
)

var specialNames = []string{"<bos>", "<img>", "<think>", "<athink>", "</think>", "<look>", "</look>", "<end>"}

// Vocab maps words to token ids and back.
type Vocab struct {
	words []string
	index map[string]int
}

// NewVocab builds the vocabulary from the world's model words.
func NewVocab(words []string) *Vocab {
	v := &Vocab{words: words, index: map[string]int{}}
	for i, w := range words {
		v.index[w] = firstWordToken + i
	}
	return v
}

// Size is the number of token ids.
func (v *Vocab) Size() int { return firstWordToken + len(v.words) }

// Words returns the word list in id order (saved in the weight config).
func (v *Vocab) Words() []string { return append([]string(nil), v.words...) }

// ID returns the id of a word.
func (v *Vocab) ID(w string) (int, error) {
	id, ok := v.index[w]
	if !ok {
		return 0, fmt.Errorf("model: word %q is not in the model's vocabulary", w)
	}
	return id, nil
}

// MustIDs maps words that are known to be in the vocabulary.
func (v *Vocab) MustIDs(ws []string) []int {
	out := make([]int, len(ws))
	for i, w := range ws {
		id, err := v.ID(w)
		if err != nil {
			panic("BUG: " + err.Error())
		}
		out[i] = id
	}
	return out
}

// Word returns the text of a token id.
func (v *Vocab) Word(id int) string {
	switch {
	case id < tokens.NumImageTokens:
		return fmt.Sprintf("<img%d>", id)
	case id < firstWordToken:
		return specialNames[id-tokens.NumImageTokens]
	case id-firstWordToken < len(v.words):
		return v.words[id-firstWordToken]
	}
	return fmt.Sprintf("<unk%d>", id)
}

// IsWord reports whether id is a word token.
func (v *Vocab) IsWord(id int) bool { return id >= firstWordToken && id < v.Size() }
