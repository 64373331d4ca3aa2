package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/nlpodyssey/safetensors"

	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// FormatVersion is the version of the weight file layout and token scheme.
// Files of another version are refused.
const FormatVersion = 1

// Config describes a weight file: the network's dimensions, the vocabulary
// and the grid the tokens live on. It is stored as JSON inside the file.
type Config struct {
	Version      int       `json:"version"`
	Net          nn.Config `json:"net"`
	Words        []string  `json:"words"`
	Grid         int       `json:"grid"`
	ImageTokens  int       `json:"image_tokens"`
	DefaultBands int       `json:"default_bands"`
	TrainTokens  int64     `json:"train_tokens,omitempty"`
	TrainSeed    uint64    `json:"train_seed,omitempty"`
	// Prompt is the form of the prompts the weights read: "" as the
	// prompt states it, or PromptCanonical.
	Prompt string `json:"prompt,omitempty"`
}

// PromptCanonical is the prompt form of weights trained on canonical specs
// (thought.CanonicalSpec): every relation reads "above" or "left", and the
// groups are listed in that order.
const PromptCanonical = "canonical"

// Weights are a loaded model: its config, vocabulary and parameters.
type Weights struct {
	Config Config
	Vocab  *Vocab
	Params *nn.Params
}

// NewConfig returns the config of a fresh model of the given size on the
// world's current vocabulary.
func NewConfig(d, layers, heads, ctx int) Config {
	return NewConfigWords(d, layers, heads, ctx, thought.ModelWords())
}

// NewConfigWords returns the config of a fresh model of the given size on a
// vocabulary of these words (a prefix of thought.ModelWords for a recipe's
// phases before its vocabulary grew).
func NewConfigWords(d, layers, heads, ctx int, words []string) Config {
	words = append([]string(nil), words...)
	v := NewVocab(words)
	return Config{
		Version: FormatVersion,
		Net: nn.Config{Vocab: v.Size(), Ctx: ctx, D: d, Layers: layers, Heads: heads,
			GridRows: tokens.Grid, GridCols: tokens.Grid},
		Words: words, Grid: tokens.Grid, ImageTokens: tokens.NumImageTokens, DefaultBands: 3,
	}
}

// Validate checks that a config fits this build of twig.
func (c Config) Validate() error {
	if c.Version != FormatVersion {
		return fmt.Errorf("model: weight file has format version %d, this twig reads version %d: retrain or use a matching twig", c.Version, FormatVersion)
	}
	if c.Grid != tokens.Grid || c.ImageTokens != tokens.NumImageTokens {
		return fmt.Errorf("model: weight file is for a %d×%d grid with %d image tokens, this twig draws %d×%d with %d", c.Grid, c.Grid, c.ImageTokens, tokens.Grid, tokens.Grid, tokens.NumImageTokens)
	}
	if got, want := c.Net.Vocab, firstWordToken+len(c.Words); got != want {
		return fmt.Errorf("model: config vocabulary size %d does not match its %d words", got, len(c.Words))
	}
	if c.Net.D <= 0 || c.Net.Layers <= 0 || c.Net.Heads <= 0 || c.Net.D%c.Net.Heads != 0 || c.Net.Ctx <= 0 {
		return fmt.Errorf("model: config has invalid dimensions %+v", c.Net)
	}
	if c.Net.GridRows != tokens.Grid || c.Net.GridCols != tokens.Grid {
		return fmt.Errorf("model: config grid %d×%d does not match %d×%d", c.Net.GridRows, c.Net.GridCols, tokens.Grid, tokens.Grid)
	}
	if err := c.Net.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if n := c.Net.NumParams(); n > MaxParams {
		return fmt.Errorf("model: config d=%d layers=%d ctx=%d vocab=%d makes %d parameters, over the limit of %d (%d MiB, the largest weight file twig reads)",
			c.Net.D, c.Net.Layers, c.Net.Ctx, c.Net.Vocab, n, MaxParams, MaxWeightsBytes>>20)
	}
	return nil
}

// MaxParams bounds a model's parameters: as many float32s as the largest
// weight file twig reads holds (16 M; the shipped model has under 1 M, the
// largest one measured here 4.8 M). A config is checked against it before
// anything is allocated.
const MaxParams = MaxWeightsBytes / 4

// NewWeights allocates a freshly initialised model for cfg.
func NewWeights(cfg Config, seed uint64) (*Weights, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := nn.NewParams(cfg.Net)
	if seed != 0 {
		p.Init(seed)
	}
	return &Weights{Config: cfg, Vocab: NewVocab(cfg.Words), Params: p}, nil
}

// Encode writes the weights as a safetensors file whose metadata holds the
// JSON config and a SHA-256 checksum of the tensor data.
func (w *Weights) Encode() ([]byte, error) {
	cfgJSON, err := json.Marshal(w.Config)
	if err != nil {
		return nil, err
	}
	views := map[string]safetensors.TensorView{}
	for _, t := range w.Params.Tensors() {
		shape := make([]uint64, len(t.Shape))
		for i, s := range t.Shape {
			shape[i] = uint64(s)
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, shape, f32Bytes(t.Data))
		if err != nil {
			return nil, fmt.Errorf("model: tensor %s: %w", t.Name, err)
		}
		views[t.Name] = tv
	}
	meta := map[string]string{"format": "twig", "config": string(cfgJSON), "sha256": checksum(w.Params)}
	return safetensors.Serialize(views, meta)
}

// Decode reads a weight file, checking its layout, config and checksum; each
// failure names what is wrong.
func Decode(data []byte) (*Weights, error) {
	if len(data) < 8 {
		return nil, errors.New("model: weight file is truncated (shorter than its 8-byte header)")
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("model: weight file is corrupt or truncated: %w", err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("model: weight file header is corrupt: %w", err)
	}
	meta := md.Metadata()
	if meta["format"] != "twig" {
		return nil, errors.New("model: not a twig weight file (safetensors metadata lacks format=twig)")
	}
	var cfg Config
	if err := json.Unmarshal([]byte(meta["config"]), &cfg); err != nil {
		return nil, fmt.Errorf("model: weight file config is not valid JSON: %w", err)
	}
	if cfg.Prompt != "" && cfg.Prompt != PromptCanonical {
		return nil, fmt.Errorf("model: the weights read prompts in the form %q, which this build of twig does not know: use a newer twig", cfg.Prompt)
	}
	w, err := NewWeights(cfg, 0)
	if err != nil {
		return nil, err
	}
	for _, t := range w.Params.Tensors() {
		tv, ok := st.Tensor(t.Name)
		if !ok {
			return nil, fmt.Errorf("model: weight file lacks tensor %q", t.Name)
		}
		if tv.DType() != safetensors.F32 {
			return nil, fmt.Errorf("model: tensor %q has dtype %s, want F32", t.Name, tv.DType())
		}
		if !sameShape(tv.Shape(), t.Shape) {
			return nil, fmt.Errorf("model: tensor %q has shape %v, config says %v", t.Name, tv.Shape(), t.Shape)
		}
		raw := tv.Data()
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	if got := checksum(w.Params); got != meta["sha256"] {
		return nil, fmt.Errorf("model: weight file checksum mismatch (file says %.12s…, data hashes to %.12s…): the file is corrupt", meta["sha256"], got)
	}
	return w, nil
}

func sameShape(a []uint64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != uint64(b[i]) {
			return false
		}
	}
	return true
}

func f32Bytes(f []float32) []byte {
	out := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// checksum hashes every tensor's name and data in name order.
func checksum(p *nn.Params) string {
	ts := p.Tensors()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	h := sha256.New()
	var b [4]byte
	for _, t := range ts {
		h.Write([]byte(t.Name))
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
