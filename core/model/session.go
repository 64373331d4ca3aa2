package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/nn"
	"github.com/twig-project/twig/core/world"
)

// Sampling controls how a session picks tokens. Temperature 0 is greedy.
type Sampling struct {
	ThoughtTemp float32 `json:"thought_temp"`
	ImageTemp   float32 `json:"image_temp"`
	TopK        int     `json:"top_k"`
}

// DefaultSampling is what the shipped model is evaluated with.
var DefaultSampling = Sampling{ThoughtTemp: 0.6, ImageTemp: 0.6, TopK: 8}

// maxThoughtWords bounds a thought or a description the model writes.
const maxThoughtWords = 64

// item is one token of a session's stream with its grid position.
type item struct{ tok, row, col int32 }

// session is one run of the embedded model. It plays thinker, painter, critic
// and decider over one token stream held in a KV cache. Every request carries
// the engine's state; the session rebuilds the stream that state implies,
// keeps the longest prefix its cache already holds (rewinding the cache when
// a band is redrawn) and feeds only the rest — never a full re-prefill.
type session struct {
	m         *Model
	dec       *nn.Decoder
	rng       *rand.Rand
	prompt    []int // model prompt word ids
	fed       []item
	logits    []float32 // logits after the last fed token (owned by dec)
	want      []item    // scratch: the stream the state implies
	uncounted int       // tokens of rethinks made before painting, not yet reported
	probs     []float32 // scratch for sampling
	idx       []int     // scratch for top-k
	samp      Sampling
	bandStart map[int]int // band index → start row, for thoughts without a header
	adaptive  bool
	spec      world.Spec // the prompt's claims, for checking plans
}

func newSession(m *Model, prompt []int, spec world.Spec, seed int64, s Sampling, adaptive bool) *session {
	return &session{spec: spec, fed: make([]item, 0, m.W.Config.Net.Ctx), want: make([]item, 0, m.W.Config.Net.Ctx), m: m, dec: nn.NewDecoder(m.W.Params, m.W.Config.Net.Ctx),
		rng: rand.New(rand.NewPCG(uint64(seed), 0x7769670a)), prompt: prompt, samp: s,
		probs: make([]float32, m.W.Vocab.Size()), idx: make([]int, m.W.Vocab.Size()),
		bandStart: map[int]int{}, adaptive: adaptive}
}

// stream builds, into s.want, the token stream the state implies up to row
// limit: the prompt, then row by row the drawn canvas, with each earlier
// band's thought inserted before the row its band starts at.
func (s *session) stream(st engine.State, limit int) {
	w := s.want[:0]
	text := func(id int) { w = append(w, item{int32(id), NoGrid, NoGrid}) }
	text(TokBOS)
	for _, id := range s.prompt {
		text(id)
	}
	if !st.Settings.Think {
		text(TokImg)
	}
	starts := map[int]int{} // row → band whose thought opens there
	for b := 0; b < st.Band && b < len(st.Thoughts); b++ {
		if st.Thoughts[b] == "" {
			continue
		}
		_, r0, _, _ := world.ParseThought(st.Thoughts[b])
		if r0 < 0 {
			r0 = s.bandStart[b]
		}
		starts[r0] = b
	}
	for r := 0; r < limit; r++ {
		if b, ok := starts[r]; ok {
			s.want = w
			s.thoughtItems(b, st.Thoughts[b])
			w = s.want
		}
		for c := 0; c < world.Grid; c++ {
			tok := st.Canvas[r*world.Grid+c]
			if tok < 0 {
				s.want = w
				return
			}
			w = append(w, item{int32(tok), int32(r), int32(c)})
		}
	}
	s.want = w
}

// rowsItems appends canvas rows [r0, r1) to s.want.
func (s *session) rowsItems(canvas world.Tokens, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for c := 0; c < world.Grid; c++ {
			s.want = append(s.want, item{int32(canvas[r*world.Grid+c]), int32(r), int32(c)})
		}
	}
}

// thoughtItems appends a band's thought, opened and closed, to s.want; an
// empty thought adds nothing.
func (s *session) thoughtItems(band int, thought string) {
	if thought == "" {
		return
	}
	s.thoughtOpen(band)
	for _, word := range strings.Fields(thought) {
		if id, err := s.m.W.Vocab.ID(word); err == nil {
			s.want = append(s.want, item{int32(id), NoGrid, NoGrid})
		}
	}
	s.want = append(s.want, item{TokEndThink, NoGrid, NoGrid})
}

// sync makes the cache hold exactly s.want: keep the common prefix, rewind,
// feed the rest.
func (s *session) sync(ctx context.Context) error {
	n := 0
	for n < len(s.fed) && n < len(s.want) && s.fed[n] == s.want[n] {
		n++
	}
	if n == len(s.fed) && n == len(s.want) && s.logits != nil {
		return nil
	}
	if n == len(s.want) && n > 0 {
		n-- // refeed the last token to get its logits
	}
	s.fed = s.fed[:n]
	s.dec.Truncate(n)
	for _, it := range s.want[n:] {
		if err := s.feed(it); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *session) feed(it item) error {
	if len(s.fed) >= s.m.W.Config.Net.Ctx {
		return fmt.Errorf("model: run is longer than the model's context of %d tokens", s.m.W.Config.Net.Ctx)
	}
	s.logits = s.dec.Step(it.tok, int32(len(s.fed)), it.row, it.col)
	s.fed = append(s.fed, it)
	return nil
}

// sample picks a token among ids [lo, hi) (and extra, if ≥ 0) from the
// current logits.
func (s *session) sample(lo, hi, extra int, temp float32) int {
	cand := s.idx[:0]
	for i := lo; i < hi; i++ {
		cand = append(cand, i)
	}
	if extra >= 0 {
		cand = append(cand, extra)
	}
	best := cand[0]
	for _, i := range cand {
		if s.logits[i] > s.logits[best] {
			best = i
		}
	}
	if temp <= 0 {
		return best
	}
	// top-k by partial selection
	k := s.samp.TopK
	if k <= 0 || k > len(cand) {
		k = len(cand)
	}
	for a := 0; a < k; a++ {
		m := a
		for b := a + 1; b < len(cand); b++ {
			if s.logits[cand[b]] > s.logits[cand[m]] {
				m = b
			}
		}
		cand[a], cand[m] = cand[m], cand[a]
	}
	mx := s.logits[cand[0]]
	var sum float32
	for a := 0; a < k; a++ {
		p := float32(math.Exp(float64((s.logits[cand[a]] - mx) / temp)))
		s.probs[a] = p
		sum += p
	}
	u := s.rng.Float32() * sum
	for a := 0; a < k; a++ {
		u -= s.probs[a]
		if u <= 0 {
			return cand[a]
		}
	}
	return cand[k-1]
}

func (s *session) word(id int) string { return s.m.W.Vocab.Word(id) }

// Think writes a thought: the row header is forced (its end row chosen by the
// model when the band is open-ended), the rest is sampled word by word.
func (s *session) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	s.bandStart[req.Band] = req.Rows.Start
	// Reflecting starts before painting: a plan that does not fit the prompt
	// is rethought now, so that the band's one redraw is left for what the
	// painter gets wrong. The thought then streams once checked, and the
	// rethinks' tokens are reported with the band's first critique.
	reflect := req.State.Settings.Reflect
	live := emit
	if reflect {
		live = nil
	}
	text, end, err := s.writeThought(ctx, req.State, s.samp.ThoughtTemp, rethinkRules{}, live)
	if err != nil {
		return text, err
	}
	if reflect {
		final := end >= world.Grid
		if s.planProblem(req.Thoughts, req.Band, text, final) != "" {
			alt, altEnd, spent, err := s.rethink(ctx, req.State, final)
			if err != nil {
				return "", err
			}
			s.uncounted += spent
			if alt != "" {
				text, end = alt, altEnd
			}
		}
		for _, w := range strings.Fields(text) {
			if emit != nil {
				emit(w + " ")
			}
		}
	}
	if req.Rows.End < 0 && req.SetEnd != nil {
		req.SetEnd(end)
	}
	return text, nil
}

// rethinkRules constrain a thought the critic samples: its new objects keep
// to the prompt's groups (constrain), and it places at least minNew objects
// (the final band must place whatever the prompt still lacks).
type rethinkRules struct {
	constrain bool
	minNew    int
}

// writeThought samples the thought of the band st describes at temperature
// temp and returns it with the band's end row.
func (s *session) writeThought(ctx context.Context, st engine.State, temp float32, rules rethinkRules, emit func(string)) (string, int, error) {
	s.stream(st, st.Rows.Start)
	s.thoughtOpen(st.Band)
	if err := s.sync(ctx); err != nil {
		return "", 0, err
	}
	v := s.m.W.Vocab
	var words []string
	put := func(w string) error {
		words = append(words, w)
		if emit != nil {
			emit(w + " ")
		}
		id, err := v.ID(w)
		if err != nil {
			return err
		}
		return s.feed(item{int32(id), NoGrid, NoGrid})
	}
	if err := put("rows"); err != nil {
		return "", 0, err
	}
	if err := put(strconv.Itoa(st.Rows.Start)); err != nil {
		return "", 0, err
	}
	end := st.Rows.End
	if end < 0 { // the model chooses where the band ends
		lo, _ := v.ID(strconv.Itoa(st.Rows.Start))
		hi, _ := v.ID(strconv.Itoa(world.Grid - 1))
		id := s.sample(lo, hi+1, -1, 0)
		last, _ := strconv.Atoi(s.word(id))
		end = last + 1
	}
	if err := put(strconv.Itoa(end - 1)); err != nil {
		return "", 0, err
	}
	if err := put(":"); err != nil {
		return "", 0, err
	}
	for n := 0; n < maxThoughtWords; n++ {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		if rules.constrain {
			s.maskEntry(words)
		}
		if placed := countWord(words, "new"); placed < rules.minNew {
			s.logits[TokEndThink] = float32(math.Inf(-1))
			if id, err := v.ID("empty"); err == nil {
				s.logits[id] = float32(math.Inf(-1))
			}
		}
		id := s.sample(firstWordToken, v.Size(), TokEndThink, temp)
		if id == TokEndThink {
			break
		}
		if err := put(s.word(id)); err != nil {
			return "", 0, err
		}
	}
	return strings.Join(words, " "), end, nil
}

// thoughtOpen appends the token that opens band b's thought to s.want.
func (s *session) thoughtOpen(band int) {
	open := TokThink
	if band == 0 && s.adaptive {
		open = TokAThink
	}
	s.want = append(s.want, item{int32(open), NoGrid, NoGrid})
}

// PaintBand draws the band's rows token by token.
func (s *session) PaintBand(ctx context.Context, req engine.PaintRequest, onRow func(int, []int)) error {
	s.bandStart[req.Band] = req.Rows.Start
	s.stream(req.State, req.Rows.Start)
	s.thoughtItems(req.Band, req.Thought)
	if err := s.sync(ctx); err != nil {
		return err
	}
	end := req.Rows.End
	if end < 0 { // open-ended: the engine cancels ctx where the decider says think
		end = world.Grid
	}
	row := make([]int, world.Grid)
	for r := req.Rows.Start; r < end; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for c := 0; c < world.Grid; c++ {
			tok := s.sample(0, world.NumImageTokens, -1, s.samp.ImageTemp)
			row[c] = tok
			if err := s.feed(item{int32(tok), int32(r), int32(c)}); err != nil {
				return err
			}
		}
		onRow(r, row)
	}
	return nil
}

// Critique asks the model to describe the band it just drew (the
// understanding direction: image → text) and scores how well that
// description agrees with the band's thought. The description is a side
// branch: the cache is rewound after it, so it never enters the stream.
func (s *session) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	if req.Rows.End < 0 {
		return engine.Critique{}, fmt.Errorf("model: cannot critique an open-ended band %d", req.Band)
	}
	s.stream(req.State, req.Rows.Start)
	s.thoughtItems(req.Band, req.Thought)
	s.rowsItems(req.Canvas, req.Rows.Start, req.Rows.End)
	if err := s.sync(ctx); err != nil {
		return engine.Critique{}, err
	}
	desc, spent, err := s.describe(ctx)
	spent += s.uncounted // rethinks made before painting
	s.uncounted = 0
	if err != nil {
		return engine.Critique{}, err
	}
	plan, _, _, _ := world.ParseThought(req.Thought)
	seen, _, _, ok := world.ParseThought(desc)
	if !ok {
		return engine.Critique{Parsed: false, Revision: req.Thought, Raw: desc, Tokens: spent}, nil
	}
	if strings.TrimSpace(req.Thought) == "" {
		// Drawing without thoughts: no plan to compare with, so the band is
		// judged by whether what it holds fits the prompt.
		c := engine.Critique{Score: 100, Parsed: true, Raw: desc, Tokens: spent}
		if problem := world.PlanCheck(s.spec, world.PlannedObjects(desc), false); problem != "" {
			c.Score, c.Raw = 40, desc+" | "+problem
		}
		return c, nil
	}
	c := engine.Critique{Score: world.EntriesMatch(plan, seen), Parsed: true, Revision: req.Thought, Raw: desc, Tokens: spent}
	// The plan itself must also fit the prompt; if it does not, the model
	// rethinks the band until a plan fits (or keeps its own).
	final := req.Rows.End >= world.Grid
	if problem := s.planProblem(req.Thoughts, req.Band, req.Thought, final); problem != "" {
		c.Score = min(c.Score, 40)
		c.Raw += " | plan: " + problem
		alt, _, spent, err := s.rethink(ctx, req.State, final)
		if err != nil {
			return engine.Critique{}, err
		}
		c.Tokens += spent
		if alt != "" {
			c.Revision = alt
		}
	}
	return c, nil
}

// rethink samples thoughts for the band st describes until one fits the
// prompt (see enoughRethinks) and returns the fitting one that places the
// most objects ("" when none fits), its end row and the tokens it spent.
func (s *session) rethink(ctx context.Context, st engine.State, final bool) (string, int, int, error) {
	best, bestText, bestEnd, spent := -1, "", 0, 0
	rules := rethinkRules{constrain: true}
	if final { // the last band must place every object still missing
		earlier := world.PlannedObjects(st.Thoughts[:min(st.Band, len(st.Thoughts))]...)
		rules.minNew = s.spec.NumObjects() - len(earlier)
	}
	for try := 0; try < maxRethinks && !(best >= 0 && try >= enoughRethinks); try++ {
		alt, end, err := s.writeThought(ctx, st, 1.0, rules, nil)
		if err != nil {
			return "", 0, spent, err
		}
		spent += len(strings.Fields(alt)) + 1 // its words and the end of thought
		if s.planProblem(st.Thoughts, st.Band, alt, final) != "" {
			continue
		}
		// Prefer the plan that gets most done in this band: an empty band is
		// consistent but only pushes the work further down.
		if n := len(world.PlannedObjects(alt)); n > best {
			best, bestText, bestEnd = n, alt, end
		}
	}
	return bestText, bestEnd, spent, nil
}

// The critic samples thoughts to revise a plan that does not fit: at least
// enoughRethinks, keeping the one that fits and places the most objects,
// and while none fits, up to maxRethinks. Plans under many relations fit
// rarely (one sample in tens), so the bound is high; a rethink is about 20
// tokens, and most bands need none.
const (
	enoughRethinks = 24
	maxRethinks    = 64
)

// planProblem checks the plan made by the earlier thoughts and this one
// against the prompt; "" means it fits.
func (s *session) planProblem(earlier []string, band int, thought string, final bool) string {
	all := append(append([]string(nil), earlier[:min(band, len(earlier))]...), thought)
	objs := world.PlannedObjects(all...)
	if p := world.PlanCheck(s.spec, objs, final); p != "" {
		return p
	}
	// The objects still to place need room below this band, where every
	// relation can still hold.
	if _, _, end, _ := world.ParseThought(thought); !final && end > 0 && !world.PlanCompletable(s.spec, objs, end) {
		return "the prompt's other objects can no longer be placed below"
	}
	return ""
}

// maskEntry forbids, in the current logits, the words that would make the
// entry being written (after "new") describe an object no group of the
// prompt asks for: the critic's rethinking stays within the prompt's claims.
func (s *session) maskEntry(words []string) {
	k := len(words) - 1
	for k >= 0 && words[k] != "new" && words[k] != ";" && words[k] != ":" {
		k--
	}
	if k < 0 || words[k] != "new" {
		return
	}
	partial := words[k+1:] // size, texture, colour, shape so far
	if len(partial) >= 4 {
		return
	}
	lists := [][]string{world.Sizes, world.Textures, world.Colors, world.Shapes}
	for i, w := range lists[len(partial)] {
		attrs := [4]int{world.Any, world.Any, world.Any, world.Any}
		for j, pw := range partial {
			attrs[j] = indexOf(lists[j], pw)
		}
		attrs[len(partial)] = i
		ok := false
		for _, g := range s.spec.Groups {
			if fits(g.Size, attrs[0]) && fits(g.Texture, attrs[1]) && fits(g.Color, attrs[2]) && (attrs[3] == world.Any || g.Shape == attrs[3]) {
				ok = true
				break
			}
		}
		if !ok {
			if id, err := s.m.W.Vocab.ID(w); err == nil {
				s.logits[id] = float32(math.Inf(-1))
			}
		}
	}
}

func countWord(words []string, w string) int {
	n := 0
	for _, x := range words {
		if x == w {
			n++
		}
	}
	return n
}

func fits(want, got int) bool { return want == world.Any || got == world.Any || want == got }

func indexOf(list []string, w string) int {
	for i, v := range list {
		if v == w {
			return i
		}
	}
	return world.Any
}

// ShouldThink reads the model's probability of opening a thought at a row
// boundary, among a thought and the next row's image tokens.
func (s *session) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	// Rows before req.Row are drawn; the open band has no thought.
	s.stream(req.State, req.Row)
	if err := s.sync(ctx); err != nil {
		return false, 0, err
	}
	mx := s.logits[TokThink]
	for i := 0; i < world.NumImageTokens; i++ {
		mx = max(mx, s.logits[i])
	}
	var sum float64
	for i := 0; i < world.NumImageTokens; i++ {
		sum += math.Exp(float64(s.logits[i] - mx))
	}
	pt := math.Exp(float64(s.logits[TokThink] - mx))
	p := pt / (sum + pt)
	return p >= 0.5, p, nil
}
