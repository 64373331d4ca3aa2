package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Sampling controls how a session picks tokens. Temperature 0 is greedy.
type Sampling struct {
	ThoughtTemp float32 `json:"thought_temp"`
	ImageTemp   float32 `json:"image_temp"`
	TopK        int     `json:"top_k"`
	// ReviewTemp samples plan reviews' verdicts; 0 decides by RejectAt.
	ReviewTemp float32 `json:"review_temp,omitempty"`
	// RejectAt is the model's probability of "bad" (against "ok") from
	// which a plan is rejected when verdicts are not sampled; 0 means 0.5,
	// the likelier verdict.
	RejectAt float32 `json:"reject_at,omitempty"`
	// ReviewsAsContext, in a recorded rollout, leaves the tokens of plan
	// reviews out of what the rollout generated (RL then does not train the
	// reviewer: its verdicts stay as SFT taught them).
	ReviewsAsContext bool `json:"reviews_as_context,omitempty"`
	// FreeThoughts lets the thinker and the critic write any word next
	// instead of only the kinds the thought grammar allows (grammar.go):
	// the ablation of constrained decoding.
	FreeThoughts bool `json:"free_thoughts,omitempty"`
	// Regional paints the cells around each object the band's plan names
	// from the product of the run's painter and the model painting a
	// picture of that object alone (regional.go). Rollouts that RL learns
	// from never use it: their tokens must come from the run's own logits.
	Regional bool `json:"regional,omitempty"`
	// ReviewsAside keeps an accepted plan's review out of the stream: the
	// band is painted, and later bands planned, after the accepted thought
	// alone, as in a run that does not review. With "<review> ok </review>"
	// left in, the shipped model drew 5 points fewer held-out-like prompts
	// right (400 fresh ones: 76.5 against 81.8 %) and the training
	// distribution's as many (98.3 against 98.1 %). RL's rollouts keep
	// their reviews in (the recipe's format).
	ReviewsAside bool `json:"reviews_aside,omitempty"`
}

// DefaultSampling is what the shipped model is evaluated with. Its thought
// temperature was chosen on fresh prompts, never the benchmark's: 0.45
// against RL's 0.6 drew 81.8 against 78.7 % of 400 held-out-like prompts
// right and 98.1 against 97.4 % of 420 of the training distribution.
var DefaultSampling = Sampling{ThoughtTemp: 0.45, ImageTemp: 0.6, TopK: 8, Regional: true, ReviewsAside: true}

// RolloutSampling is how RL's rollouts sample (the recipe's: the shipped
// weights were trained with it).
var RolloutSampling = Sampling{ThoughtTemp: 0.6, ImageTemp: 0.6, TopK: 8, ReviewTemp: 1}

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
	dec       nn.StepDecoder
	rng       *rand.Rand
	prompt    []int // model prompt word ids
	fed       []item
	logits    []float32 // logits after the last fed token (owned by dec)
	want      []item    // scratch: the stream the state implies
	probs     []float32 // scratch for sampling
	idx       []int     // scratch for top-k
	samp      Sampling
	bandStart map[int]int // band index → start row, for thoughts without a header
	adaptive  bool
	rec       recorder                  // nil unless a rollout records the run
	side      map[scene.Object]*session // regional painting's side sessions, by object
	capacity  int                       // the most tokens the stream holds
}

// recorder sees every token a session generates, with the stream it was
// generated after and the logits it was chosen from (RL's rollouts learn
// from whole runs). The slices are only valid during the call.
type recorder interface {
	generated(context []item, next item, logits []float32)
}

func newSession(m *Model, prompt []int, seed int64, s Sampling, adaptive bool) *session {
	return newSessionOf(m, prompt, seed, s, adaptive, m.W.Config.Net.Ctx)
}

// newSessionOf is newSession with a stream of at most capacity tokens.
func newSessionOf(m *Model, prompt []int, seed int64, s Sampling, adaptive bool, capacity int) *session {
	capacity = min(capacity, m.W.Config.Net.Ctx)
	return &session{fed: make([]item, 0, capacity), want: make([]item, 0, capacity), m: m, dec: nn.NewDecoder(m.W.Params, capacity),
		rng: rand.New(rand.NewPCG(uint64(seed), 0x7769670a)), prompt: prompt, samp: s,
		probs: make([]float32, m.W.Vocab.Size()), idx: make([]int, m.W.Vocab.Size()),
		bandStart: map[int]int{}, adaptive: adaptive, capacity: capacity}
}

// stream builds, into s.want, the token stream the state implies up to row
// limit: the prompt, then row by row the drawn canvas, with each earlier
// band's thought inserted before the row its band starts at.
func (s *session) stream(st view, limit int) {
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
		_, r0, _, _ := thought.ParseThought(st.Thoughts[b])
		if r0 < 0 {
			r0 = s.bandStart[b]
		}
		starts[r0] = b
	}
	for r := 0; r < limit; r++ {
		if b, ok := starts[r]; ok {
			s.want = w
			s.thoughtItems(st, b, st.Thoughts[b])
			w = s.want
		}
		for c := 0; c < tokens.Grid; c++ {
			tok := st.Canvas[r*tokens.Grid+c]
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
func (s *session) rowsItems(canvas tokens.Tokens, r0, r1 int) {
	for r := r0; r < r1; r++ {
		for c := 0; c < tokens.Grid; c++ {
			s.want = append(s.want, item{int32(canvas[r*tokens.Grid+c]), int32(r), int32(c)})
		}
	}
}

// thoughtItems appends a band's thought, opened and closed, to s.want — in a
// run that reviews its plans followed by "<review> ok </review>", as the
// band was accepted — and an empty thought adds nothing.
func (s *session) thoughtItems(st view, band int, thought string) {
	if thought == "" {
		return
	}
	s.thoughtOpen(band)
	s.wordItems(thought)
	s.want = append(s.want, item{TokEndThink, NoGrid, NoGrid})
	if s.reviews(st) && !s.samp.ReviewsAside {
		s.reviewItems(nil)
	}
}

// wordItems appends the words of text that the vocabulary knows to s.want.
func (s *session) wordItems(text string) {
	for _, word := range strings.Fields(text) {
		if id, err := s.m.W.Vocab.ID(word); err == nil {
			s.want = append(s.want, item{int32(id), NoGrid, NoGrid})
		}
	}
}

// reviews reports whether the run's plans are reviewed.
func (s *session) reviews(st view) bool {
	return s.m.canReview() && st.Settings.Think && st.Settings.Reflect && st.Settings.PlanAttempts > 0
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

// gen feeds a token the model generated (a text token); a session with a
// recorder reports it first, with its context and logits.
func (s *session) gen(id int) error { return s.genItem(item{int32(id), NoGrid, NoGrid}) }

// genAt feeds an image token the model generated at (row, col).
func (s *session) genAt(id, row, col int) error {
	return s.genItem(item{int32(id), int32(row), int32(col)})
}

func (s *session) genItem(it item) error {
	if s.rec != nil {
		s.rec.generated(s.fed, it, s.logits)
	}
	return s.feed(it)
}

func (s *session) feed(it item) error {
	if len(s.fed) >= s.capacity {
		return fmt.Errorf("model: run is longer than the model's context of %d tokens", s.capacity)
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
	return s.pick(cand, temp)
}

// sampleAmong samples one of ids (which it does not change) at temp.
func (s *session) sampleAmong(ids []int, temp float32) int {
	return s.pick(append(s.idx[:0], ids...), temp)
}

// pick samples among cand (reordered in place) at temp: the likeliest when
// temp ≤ 0, else from the top-k's softmax.
func (s *session) pick(cand []int, temp float32) int {
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
// model when the band is open-ended), the rest is sampled word by word and
// streamed as it is written. A rewrite of a plan the model rejected
// (req.Rejected) is written with the last rejected plan and the model's
// review of it in view, as training showed it.
func (s *session) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	v := viewOf(req.State)
	s.bandStart[req.Band] = v.Rows.Start
	s.stream(v, v.Rows.Start)
	if n := len(req.Rejected); n > 0 && s.m.canReview() {
		last := req.Rejected[n-1]
		s.thoughtOpen(req.Band)
		s.wordItems(last.Thought)
		s.want = append(s.want, item{TokEndThink, NoGrid, NoGrid})
		s.reviewItems(strings.Fields(last.Reason))
	}
	text, end, err := s.writeThought(ctx, v, s.samp.ThoughtTemp, emit)
	if err != nil {
		return text, err
	}
	if req.Rows.End < 0 && req.SetEnd != nil {
		req.SetEnd(v.pixRow(end))
	}
	return text, nil
}

// writeThought samples, after s.want, the thought of the band st describes
// at temperature temp and returns it with the band's end row.
func (s *session) writeThought(ctx context.Context, st view, temp float32, emit func(string)) (string, int, error) {
	s.thoughtOpen(st.Band)
	if err := s.sync(ctx); err != nil {
		return "", 0, err
	}
	v := s.m.W.Vocab
	var words []string
	put := func(w string, generated bool) error {
		words = append(words, w)
		if emit != nil {
			emit(w + " ")
		}
		id, err := v.ID(w)
		if err != nil {
			return err
		}
		if generated {
			return s.gen(id)
		}
		return s.feed(item{int32(id), NoGrid, NoGrid})
	}
	if err := put("rows", false); err != nil {
		return "", 0, err
	}
	if err := put(strconv.Itoa(st.Rows.Start), false); err != nil {
		return "", 0, err
	}
	end := st.Rows.End
	generated := false
	if end < 0 { // the model chooses where the band ends
		lo, _ := v.ID(strconv.Itoa(st.Rows.Start))
		hi, _ := v.ID(strconv.Itoa(tokens.Grid - 1))
		id := s.sample(lo, hi+1, -1, 0)
		last, _ := strconv.Atoi(s.word(id))
		end, generated = last+1, true
	}
	if err := put(strconv.Itoa(end-1), generated); err != nil {
		return "", 0, err
	}
	if err := put(":", false); err != nil {
		return "", 0, err
	}
	walk := s.grammarWalk(TokEndThink)
	for n := 0; n < maxThoughtWords; n++ {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		var id int
		if walk != nil {
			id = s.sampleAmong(walk.allowed(), temp)
			walk.took(id)
		} else {
			id = s.sample(firstWordToken, s.m.planWordsEnd(), TokEndThink, temp)
		}
		if id == TokEndThink {
			if err := s.gen(id); err != nil {
				return "", 0, err
			}
			break
		}
		if err := put(s.word(id), true); err != nil {
			return "", 0, err
		}
	}
	return strings.Join(words, " "), end, nil
}

// ReviewPlan has the model review the plan it wrote (engine.PlanReviewer):
// after the thought, "<review>" is forced and the model writes its verdict,
// "ok" or "bad", then for "bad" the reason, up to "</review>". The verdict
// is the likelier of the two words (sampled at Sampling.ReviewTemp when that
// is set, as RL's rollouts do). The review is a side branch: the band is
// painted after the accepted thought alone.
func (s *session) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	if s.rec != nil && s.samp.ReviewsAsContext {
		rec := s.rec
		s.rec = nil
		defer func() { s.rec = rec }()
	}
	v := viewOf(req.State)
	s.stream(v, v.Rows.Start)
	if n := len(req.Rejected); n > 0 {
		last := req.Rejected[n-1]
		s.thoughtOpen(req.Band)
		s.wordItems(last.Thought)
		s.want = append(s.want, item{TokEndThink, NoGrid, NoGrid})
		s.reviewItems(strings.Fields(last.Reason))
	}
	s.thoughtOpen(req.Band)
	s.wordItems(req.Thought)
	s.want = append(s.want, item{TokEndThink, NoGrid, NoGrid}, item{int32(s.m.rv.open), NoGrid, NoGrid})
	if err := s.sync(ctx); err != nil {
		return engine.PlanReview{}, err
	}
	rv := s.m.rv
	pOK := 1 / (1 + math.Exp(float64(s.logits[rv.bad]-s.logits[rv.ok])))
	verdict := s.verdict()
	if err := s.gen(verdict); err != nil {
		return engine.PlanReview{}, err
	}
	out := engine.PlanReview{Accepted: verdict == rv.ok, Tokens: 1, POk: max(pOK, math.SmallestNonzeroFloat64)}
	var reason []string
	for n := 0; n < maxReasonWords; n++ {
		if err := ctx.Err(); err != nil {
			return engine.PlanReview{}, err
		}
		id := s.sample(firstWordToken, s.m.W.Vocab.Size(), -1, 0)
		out.Tokens++
		if err := s.gen(id); err != nil {
			return engine.PlanReview{}, err
		}
		if id == rv.close {
			break
		}
		reason = append(reason, s.word(id))
	}
	if !out.Accepted {
		out.Reason = strings.Join(reason, " ")
	}
	return out, nil
}

// maxReasonWords bounds a review's reason.
const maxReasonWords = 12

// verdict chooses "ok" or "bad" by the model's odds of the two: sampled at
// Sampling.ReviewTemp, or "bad" when its probability reaches RejectAt.
func (s *session) verdict() int {
	rv := s.m.rv
	lok, lbad := s.logits[rv.ok], s.logits[rv.bad]
	if t := s.samp.ReviewTemp; t > 0 {
		if s.rng.Float64() < 1/(1+math.Exp(float64((lok-lbad)/t))) {
			return rv.bad
		}
		return rv.ok
	}
	at := float64(s.samp.RejectAt)
	if at <= 0 {
		at = 0.5
	}
	if 1/(1+math.Exp(float64(lok-lbad))) >= at {
		return rv.bad
	}
	return rv.ok
}

// reviewItems appends a review to s.want: "<review> ok </review>" for nil
// reason words, else "<review> bad REASON </review>".
func (s *session) reviewItems(reason []string) {
	rv := s.m.rv
	add := func(id int) { s.want = append(s.want, item{int32(id), NoGrid, NoGrid}) }
	add(rv.open)
	if reason == nil {
		add(rv.ok)
	} else {
		add(rv.bad)
		for _, w := range reason {
			if id, err := s.m.W.Vocab.ID(w); err == nil {
				add(id)
			}
		}
	}
	add(rv.close)
}

// thoughtOpen appends the token that opens band b's thought to s.want.
func (s *session) thoughtOpen(band int) {
	open := TokThink
	if band == 0 && s.adaptive {
		open = TokAThink
	}
	s.want = append(s.want, item{int32(open), NoGrid, NoGrid})
}

// Geometry implements engine.Sizer: the model paints the world's picture.
func (s *session) Geometry() engine.Geometry { return Geometry }

// PaintBand draws the band's rows token by token, handing each token row on
// as a strip of the canvas's pixel rows with its tokens.
func (s *session) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	v := viewOf(req.State)
	s.bandStart[req.Band] = v.Rows.Start
	s.stream(v, v.Rows.Start)
	s.thoughtItems(v, req.Band, req.Thought)
	if err := s.sync(ctx); err != nil {
		return err
	}
	end := v.Rows.End
	if end < 0 { // open-ended: the engine cancels ctx where the decider says think
		end = tokens.Grid
	}
	w, h := tokens.PxSize, tokens.PxSize
	if req.Canvas != nil {
		w, h = req.Canvas.W, req.Canvas.H
	}
	row := make([]int, tokens.Grid)
	var regions []*region
	if s.samp.Regional && s.rec == nil && v.Settings.Think && req.Thought != "" {
		regions = s.regions(v, req.Band, req.Thought, end)
	}
	for r := v.Rows.Start; r < end; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for c := 0; c < tokens.Grid; c++ {
			tok := -1
			if g := regionAt(regions, r, c); g != nil {
				t, err := g.sample(ctx, r, c, s.samp.ImageTemp, s.logits)
				if err != nil {
					return err
				}
				tok = t
			}
			if tok < 0 {
				tok = s.sample(0, tokens.NumImageTokens, -1, s.samp.ImageTemp)
			}
			for _, g := range regions {
				g.painted(r, c, tok)
			}
			row[c] = tok
			if err := s.genAt(tok, r, c); err != nil {
				return err
			}
		}
		onStrip(TokenStrip(row, r, w, h))
	}
	return nil
}

// Critique asks the model to describe the band it just drew (the
// understanding direction: image → text) and scores how well that
// description agrees with the band's thought — the model's own words
// against each other, no rule of the world's. The description is a side
// branch: the cache is rewound after it, so it never enters the stream.
func (s *session) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	if req.Rows.End < 0 {
		return engine.Critique{}, fmt.Errorf("model: cannot critique an open-ended band %d", req.Band)
	}
	v := viewOf(req.State)
	s.stream(v, v.Rows.Start)
	s.thoughtItems(v, req.Band, req.Thought)
	s.rowsItems(v.Canvas, v.Rows.Start, v.Rows.End)
	if err := s.sync(ctx); err != nil {
		return engine.Critique{}, err
	}
	desc, spent, err := s.describe(ctx)
	if err != nil {
		return engine.Critique{}, err
	}
	plan, _, _, _ := thought.ParseThought(req.Thought)
	seen, _, _, ok := thought.ParseThought(desc)
	if !ok {
		return engine.Critique{Parsed: false, Revision: req.Thought, Raw: desc, Tokens: spent}, nil
	}
	if strings.TrimSpace(req.Thought) == "" {
		// Drawing without thoughts: there is no plan to hold the
		// description against, so there is no score to read.
		return engine.Critique{Parsed: false, Raw: "no thought to compare with: " + desc, Tokens: spent}, nil
	}
	return engine.Critique{Score: thought.EntriesMatch(plan, seen), Parsed: true, Revision: req.Thought, Raw: desc, Tokens: spent}, nil
}

// ShouldThink reads the model's probability of opening a thought at a row
// boundary, among a thought and the next row's image tokens.
func (s *session) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	// Rows before req.Row are drawn; the open band has no thought.
	v := viewOf(req.State)
	s.stream(v, v.tokRow(req.Row))
	if err := s.sync(ctx); err != nil {
		return false, 0, err
	}
	mx := s.logits[TokThink]
	for i := 0; i < tokens.NumImageTokens; i++ {
		mx = max(mx, s.logits[i])
	}
	var sum float64
	for i := 0; i < tokens.NumImageTokens; i++ {
		sum += math.Exp(float64(s.logits[i] - mx))
	}
	pt := math.Exp(float64(s.logits[TokThink] - mx))
	p := pt / (sum + pt)
	return p >= 0.5, p, nil
}
