package protocol

import (
	"encoding/json"
	"sync"
)

// PNGSource is what an event's PNG is encoded from when the event is
// written out: a canvas.Strip (a painted strip, the final canvas). An
// engine's band_progress and run_done carry one instead of their PNG, so
// that a run whose consumer never serializes its events (a native run's
// fold, a benchmark) encodes no PNG, and one that does encodes each once.
// Base64 must be deterministic and the source's pixels must not change
// after it is attached: the bytes on the wire are those of an eager encode.
type PNGSource interface {
	Base64() (string, error)
}

// lazyPNG encodes a source once, on first need, for every goroutine that
// asks (a gateway may write one event to many sessions).
type lazyPNG struct {
	src  PNGSource
	once sync.Once
	b64  string
	err  error
}

// source is l's source, or nil when there is none.
func (l *lazyPNG) source() PNGSource {
	if l == nil {
		return nil
	}
	return l.src
}

// encoded is png when it is set, else l's source encoded (once), else "".
func (l *lazyPNG) encoded(png string) (string, error) {
	if png != "" || l == nil {
		return png, nil
	}
	l.once.Do(func() { l.b64, l.err = l.src.Base64() })
	return l.b64, l.err
}

// SetPNGSource makes src the strip's PNG when PNG is empty: it is encoded
// when the event is first serialized or EncodedPNG is called, and once.
func (p *BandProgress) SetPNGSource(src PNGSource) { p.lazy = &lazyPNG{src: src} }

// PNGSource is the source set by SetPNGSource (a canvas.Strip from a
// native engine), or nil: a consumer that wants the pixels takes them from
// it rather than decoding the PNG back.
func (p *BandProgress) PNGSource() PNGSource { return p.lazy.source() }

// EncodedPNG is the strip's base64 PNG: PNG when set, else its source's
// (encoded once), else "".
func (p *BandProgress) EncodedPNG() (string, error) { return p.lazy.encoded(p.PNG) }

// SetPNGSource makes src the final canvas's PNG when PNG is empty: it is
// encoded when the event is first serialized or EncodedPNG is called, and
// once.
func (p *RunDone) SetPNGSource(src PNGSource) { p.lazy = &lazyPNG{src: src} }

// PNGSource is the source set by SetPNGSource, or nil.
func (p *RunDone) PNGSource() PNGSource { return p.lazy.source() }

// EncodedPNG is the final canvas's base64 PNG: PNG when set, else its
// source's (encoded once), else "".
func (p *RunDone) EncodedPNG() (string, error) { return p.lazy.encoded(p.PNG) }

// runDoneWire is RunDone's form on the wire (its fields, no source).
type runDoneWire struct {
	PNG      string   `json:"png,omitempty"`
	Tokens   []int    `json:"tokens,omitempty"`
	Thoughts []string `json:"thoughts"`
	Bands    []Rows   `json:"bands"`
	Stats    Stats    `json:"stats"`
}

// MarshalJSON writes run_done with its PNG encoded from its source when
// it has one.
func (p RunDone) MarshalJSON() ([]byte, error) {
	png, err := p.EncodedPNG()
	if err != nil {
		return nil, err
	}
	return json.Marshal(runDoneWire{PNG: png, Tokens: p.Tokens, Thoughts: p.Thoughts, Bands: p.Bands, Stats: p.Stats})
}

// WithPNG is p with its PNG field filled from its source (a copy; p itself
// is not changed): for an encoder that reads the field (the sandbox ABI's
// frames) or a consumer that wants it set. Other payloads return as they are.
func WithPNG(p Payload) (Payload, error) {
	switch e := p.(type) {
	case *BandProgress:
		if e.PNG == "" && e.lazy != nil {
			c := *e
			return filled(&c, &c.PNG, &c.lazy)
		}
	case *RunDone:
		if e.PNG == "" && e.lazy != nil {
			c := *e
			return filled(&c, &c.PNG, &c.lazy)
		}
	}
	return p, nil
}

// filled is c once its PNG is encoded from its source (once) and the
// source dropped; c's PNG and lazy fields are png and lazy.
func filled(c Payload, png *string, lazy **lazyPNG) (Payload, error) {
	s, err := (*lazy).encoded(*png)
	if err != nil {
		return nil, err
	}
	*png, *lazy = s, nil
	return c, nil
}
