package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// Image endpoints: /v1/images/generations draws a whole picture with a TwiG
// run (thinking, painting, reflecting); /v1/images/edits redraws the rows a
// mask marks with the painter, thinking first when no thought is given.
var (
	generateFields = []string{"model", "prompt", "n", "size", "response_format", "output_format", "user", "twig"}
	editFields     = []string{"model", "prompt", "n", "size", "response_format", "output_format", "user", "twig", "image", "image[]", "mask"}
)

// maxImages caps n.
const maxImages = 4

// imageExt is the "twig" extension of the image endpoints (on edits, a
// form field holding this JSON).
type imageExt struct {
	Settings json.RawMessage `json:"settings"`
	Seed     *int64          `json:"seed"`
	Thought  *string         `json:"thought"`
	Thoughts *[]string       `json:"thoughts"`
	Band     *int            `json:"band"`
	Round    int             `json:"round"`
}

// imageQuery is what both image endpoints share.
type imageQuery struct {
	prompt   string
	n        int
	side     int
	asURL    bool
	settings protocol.Settings
	ext      imageExt
}

func (q *imageQuery) check(model, size, format, outFormat, twig string) *apiError {
	switch model {
	case "", ModelTwig, ModelPainter:
	case ModelThinker, ModelCritic:
		return badRequest("model_not_supported", "model", "%s writes text: use %s or %s for pictures", model, ModelTwig, ModelPainter)
	default:
		return &apiError{status: http.StatusNotFound, code: "model_not_found", param: "model",
			msg: fmt.Sprintf("model %q does not exist: use %s or %s", textutil.Clip(model, 60), ModelTwig, ModelPainter)}
	}
	if strings.TrimSpace(q.prompt) == "" {
		return badRequest("missing_parameter", "prompt", "prompt is required: say what to draw")
	}
	if len(q.prompt) > protocol.MaxPromptBytes {
		return badRequest("invalid_value", "prompt", "the prompt is %d bytes, over the limit of %d", len(q.prompt), protocol.MaxPromptBytes)
	}
	if q.n < 1 || q.n > maxImages {
		return badRequest("invalid_value", "n", "n must be 1 to %d", maxImages)
	}
	var aerr *apiError
	if q.side, aerr = pictureSide(size); aerr != nil {
		return aerr
	}
	switch format {
	case "", "b64_json":
	case "url":
		q.asURL = true // a data: URL: twig hosts no files
	default:
		return badRequest("invalid_value", "response_format", "response_format %q: use b64_json or url (a data: URL)", textutil.Clip(format, 60))
	}
	if outFormat != "" && outFormat != "png" {
		return badRequest("invalid_value", "output_format", "output_format %q: twig writes png", textutil.Clip(outFormat, 60))
	}
	if twig != "" {
		if err := strict([]byte(twig), &q.ext); err != nil {
			return badRequest("invalid_twig", "twig", "the twig extension: %s (fields: settings, seed, thought, thoughts, band, round)", textutil.OneLine(err.Error()))
		}
	}
	s, err := protocol.DecodeSettings(q.ext.Settings)
	if err != nil {
		return badRequest("invalid_value", "twig.settings", "twig.%v", err)
	}
	if q.ext.Seed != nil {
		s.Seed = *q.ext.Seed
	}
	q.settings = s
	return nil
}

// tokenSide is a token model's picture side when the size is auto.
const tokenSide = 256

// tokenItem is one picture of an answer: a token model's picture of toks
// (grid×grid) at the size asked (256×256 when auto).
func (q *imageQuery) tokenItem(toks []int, grid int, revised string) (map[string]any, error) {
	side := q.side
	if side == 0 {
		side = tokenSide
	}
	png, err := encodeTokens(toks, grid, side)
	if err != nil {
		return nil, err
	}
	return q.item(png, revised), nil
}

// canvasItem is one picture of an answer: the canvas's picture at its own
// size, or scaled to the size asked.
func (q *imageQuery) canvasItem(c *canvas.Canvas, revised string) (map[string]any, error) {
	w, h := c.W, c.H
	if q.side != 0 {
		w, h = q.side, q.side
	}
	png, err := encodeCanvas(c, w, h)
	if err != nil {
		return nil, err
	}
	return q.item(png, revised), nil
}

// item is one picture of an answer, as b64_json or a data: URL.
func (q *imageQuery) item(png []byte, revised string) map[string]any {
	b64 := base64.StdEncoding.EncodeToString(png)
	it := map[string]any{"revised_prompt": revised}
	if q.asURL {
		it["url"] = "data:image/png;base64," + b64
	} else {
		it["b64_json"] = b64
	}
	return it
}

func (a *apiHandler) generate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.maxBody))
		return
	}
	m, aerr := checkFields(body, "image generation", generateFields...)
	if aerr != nil {
		aerr.write(w)
		return
	}
	q := imageQuery{n: 1}
	var model, size, format, outFormat, user string
	var ext json.RawMessage
	for _, f := range []struct {
		name string
		v    any
	}{{"model", &model}, {"prompt", &q.prompt}, {"n", &q.n}, {"size", &size}, {"response_format", &format},
		{"output_format", &outFormat}, {"user", &user}, {"twig", &ext}} {
		if aerr := field(m, f.name, f.v); aerr != nil {
			aerr.write(w)
			return
		}
	}
	if aerr := q.check(model, size, format, outFormat, string(ext)); aerr != nil {
		aerr.write(w)
		return
	}
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), a.g.Limits().RunTimeout)
	defer cancel()
	var data, runs []any
	for i := range q.n {
		s := q.settings
		s.Seed += int64(i)
		res, err := a.g.Draw(ctx, engine.RunSpec{Prompt: q.prompt, Settings: s}, nil)
		if err != nil {
			code := gateway.ErrorCode(err)
			writeAPIError(w, statusOf(code), code, "prompt", textutil.OneLine(err.Error()))
			return
		}
		// a token model's run (every row its tokens) is its picture of the
		// tokens at the size asked; any other run's picture is the canvas
		revised := strings.Join(slices.DeleteFunc(slices.Clone(res.Thoughts), func(s string) bool { return s == "" }), " | ")
		var it map[string]any
		switch {
		case res.Tokens != nil && res.Canvas != nil && res.Canvas.Grid > 0:
			it, err = q.tokenItem(res.Tokens, res.Canvas.Grid, revised)
		case res.Canvas != nil:
			it, err = q.canvasItem(res.Canvas, revised)
		default:
			err = errors.New("edge: the run ended without a canvas")
		}
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, protocol.CodeInternal, "", err.Error())
			return
		}
		data = append(data, it)
		runs = append(runs, map[string]any{"run_id": res.RunID, "seed": s.Seed, "thoughts": res.Thoughts, "stats": res.Stats})
	}
	a.g.Logger().Info("image generation", "request_id", RequestID(r.Context()), "n", q.n)
	writeJSON(w, http.StatusOK, map[string]any{"created": unixNow(), "data": data, "twig": runs})
}

func (a *apiHandler) edit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
	if err := r.ParseMultipartForm(a.maxBody); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.maxBody))
			return
		}
		writeAPIError(w, http.StatusBadRequest, "invalid_body", "", "images/edits takes multipart/form-data: "+textutil.OneLine(err.Error()))
		return
	}
	defer r.MultipartForm.RemoveAll()
	form := r.MultipartForm
	for _, keys := range []map[string]bool{mapKeys(form.Value), mapKeys(form.File)} {
		for k := range keys {
			if !slices.Contains(editFields, k) {
				badRequest("unsupported_parameter", k, "image edit: %q is not supported by twig (supported: %s); see docs/PROTOCOL.md", k, strings.Join(editFields, ", ")).write(w)
				return
			}
		}
	}
	val := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	q := imageQuery{n: 1, prompt: val("prompt")}
	if s := val("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			badRequest("invalid_type", "n", "n %q is not a number", textutil.Clip(s, 60)).write(w)
			return
		}
		q.n = n
	}
	if aerr := q.check(val("model"), val("size"), val("response_format"), val("output_format"), val("twig")); aerr != nil {
		aerr.write(w)
		return
	}
	files := append(slices.Clone(form.File["image"]), form.File["image[]"]...)
	if len(files) != 1 {
		badRequest("invalid_value", "image", "send exactly one image (the canvas so far), not %d", len(files)).write(w)
		return
	}
	// the address's in-flight slot before any picture is decoded: one
	// address cannot have more decodes going than requests in flight
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	prompt, thought, thoughts := parseEditPrompt(q.prompt)
	q.prompt = prompt
	if q.ext.Thought != nil {
		thought = *q.ext.Thought
	}
	if q.ext.Thoughts != nil {
		thoughts = *q.ext.Thoughts
	}
	band := len(thoughts)
	if q.ext.Band != nil {
		band = *q.ext.Band
	}
	var mask *multipart.FileHeader
	if masks := form.File["mask"]; len(masks) > 0 {
		mask = masks[0]
	}
	e := editJob{a: a, q: &q, ctx: r.Context(), req: protocol.CallRequest{Prompt: q.prompt, Band: band, Thoughts: thoughts,
		Round: q.ext.Round, Thought: thought}}
	var aerr *apiError
	if tm, ok := a.tokenModel(); ok {
		aerr = e.tokens(tm, files[0], mask)
	} else {
		aerr = e.pixels(files[0], mask)
	}
	if aerr != nil {
		aerr.write(w)
		return
	}
	a.g.Logger().Info("image edit", "request_id", RequestID(r.Context()), "rows", fmt.Sprintf("%d-%d", e.rows.Start, e.rows.End-1), "n", q.n)
	writeJSON(w, http.StatusOK, map[string]any{"created": unixNow(), "data": e.data, "twig": e.info})
}

// editJob is one images/edits request after its fields are checked.
type editJob struct {
	a   *apiHandler
	q   *imageQuery
	ctx context.Context
	// req is the paint call's request less its canvas, rows and settings.
	req protocol.CallRequest
	// rows are the rows redrawn (the canvas's pixel rows); data and info
	// are the answer's pictures and their twig details.
	rows       protocol.Rows
	data, info []any
}

// each plays the redraw n times (seeds seed, seed+1, …); paint redraws
// one with the settings given and returns its picture.
func (e *editJob) each(paint func(ctx context.Context, s protocol.Settings) (map[string]any, string, error)) *apiError {
	ctx, cancel := context.WithTimeout(e.ctx, e.a.g.Limits().RunTimeout)
	defer cancel()
	for i := range e.q.n {
		s := e.q.settings
		s.Seed += int64(i)
		it, th, err := paint(ctx, s)
		if err != nil {
			if ae, ok := errors.AsType[*apiError](err); ok {
				return ae
			}
			code := gateway.ErrorCode(err)
			return &apiError{status: statusOf(code), code: code, msg: textutil.OneLine(err.Error())}
		}
		e.data = append(e.data, it)
		e.info = append(e.info, map[string]any{"band": e.req.Band, "rows": e.rows, "thought": th, "seed": s.Seed})
	}
	return nil
}

// tokens redraws with a token model: the picture is read into its token
// view (16 rows of cells), the mask's cells mark the token rows to redraw,
// and the answer is its picture of the tokens (as before twig/2).
func (e *editJob) tokens(tm TokenModel, file, mask *multipart.FileHeader) *apiError {
	g := engine.TokenGeometry
	pl := e.a.pictureLimits()
	var cv []int
	if aerr := openPicture(e.ctx, pl, file, "image", func(pic image.Image) { cv = tm.TokensOf(pic) }); aerr != nil {
		return aerr
	}
	if len(cv) != g.Grid*g.Grid {
		return &apiError{status: http.StatusInternalServerError, code: protocol.CodeInternal, msg: fmt.Sprintf("edge: the model read the picture into %d cells, not %d", len(cv), g.Grid*g.Grid)}
	}
	var redraw []bool
	if mask != nil {
		if aerr := openPicture(e.ctx, pl, mask, "mask", func(m image.Image) { redraw = transparentCells(m, g.Grid) }); aerr != nil {
			return aerr
		}
	} else {
		redraw = make([]bool, len(cv))
		for i, t := range cv {
			redraw[i] = t < 0
		}
	}
	rows, ok := markedRows(redraw, g.Grid)
	if !ok {
		return badRequest("invalid_mask", "mask", "the mask marks nothing to redraw: make the band's rows transparent in the mask (or in the image)")
	}
	e.rows = rows
	return e.each(func(ctx context.Context, s protocol.Settings) (map[string]any, string, error) {
		req := e.req
		req.Settings, req.Rows, req.Canvas = s, rows, cv
		out, th, err := e.a.redrawTokens(ctx, req)
		if err != nil {
			return nil, "", err
		}
		it, err := e.q.tokenItem(out, g.Grid, th)
		return it, th, err
	})
}

// pixels redraws on the picture's pixels: the mask's transparent pixel
// rows (or the picture's own) are the band. The painter paints on its own
// canvas (the picture scaled to the painter's size when it is another,
// the band cut in the painter's units) and sees the rows above the band;
// the band's rows of its answer are composited into the picture, whose
// other rows come back bit for bit, at the picture's size.
func (e *editJob) pixels(file, mask *multipart.FileHeader) *apiError {
	pl := e.a.pictureLimits()
	g := Geometry(e.a.g.Backend())
	var pic, work *canvas.Canvas
	var cerr error
	if aerr := openPicture(e.ctx, pl, file, "image", func(img image.Image) {
		b := img.Bounds()
		if b.Dx()*b.Dy() > rolecall.MaxCanvasPixels {
			// the picture is kept as a canvas beside the painter's: bound it as a call's canvas is
			cerr = fmt.Errorf("the picture is %d×%d, over the %d pixels twig edits (2048×2048): scale it down", b.Dx(), b.Dy(), rolecall.MaxCanvasPixels)
			return
		}
		if pic, cerr = canvas.FromImage(img, b.Dx(), b.Dy()); cerr == nil && (b.Dx() != g.Width || b.Dy() != g.Height) {
			work, cerr = canvas.FromImage(img, g.Width, g.Height)
		}
	}); aerr != nil {
		return aerr
	}
	if cerr != nil {
		return badRequest("invalid_image", "image", "image: %s", textutil.OneLine(cerr.Error()))
	}
	if work == nil {
		work = pic
	}
	var rows protocol.Rows
	ok := false
	if mask != nil {
		if aerr := openPicture(e.ctx, pl, mask, "mask", func(m image.Image) { rows, ok = transparentRows(m, pic.H) }); aerr != nil {
			return aerr
		}
	} else {
		rows, ok = transparentRows(pic.Image(), pic.H)
	}
	if !ok {
		return badRequest("invalid_mask", "mask", "the mask marks nothing to redraw: make the band's rows transparent in the mask (or in the image)")
	}
	// the band on the painter's canvas, cut outward in its units, and
	// those rows on the picture
	u := max(g.Unit, 1)
	wrows := protocol.Rows{Start: rows.Start * work.H / pic.H / u * u, End: min(work.H, ((rows.End*work.H+pic.H-1)/pic.H+u-1)/u*u)}
	e.rows = protocol.Rows{Start: wrows.Start * pic.H / work.H, End: min(pic.H, (wrows.End*pic.H+work.H-1)/work.H)}
	return e.each(func(ctx context.Context, s protocol.Settings) (map[string]any, string, error) {
		req := e.req
		req.Settings, req.Rows, req.Grid = s, wrows, g.Grid
		painted, th, err := e.a.redrawPixels(ctx, req, work)
		if err != nil {
			return nil, "", err
		}
		out := painted
		if painted.W != pic.W || painted.H != pic.H {
			out = pic.Clone()
			if err := out.Composite(painted.Image(), e.rows); err != nil {
				return nil, "", err
			}
		}
		it, err := e.q.canvasItem(out, th)
		return it, th, err
	})
}

// redrawPixels paints req.Rows of pic anew (thinking first when there is
// no thought and thinking is on) and returns the new picture and thought:
// the roles see the rows above the band; the rows outside the band come
// back as sent, bit for bit.
func (a *apiHandler) redrawPixels(ctx context.Context, req protocol.CallRequest, pic *canvas.Canvas) (*canvas.Canvas, string, error) {
	seen := pic.Clone()
	clearFrom(seen, req.Rows.Start)
	req.Width, req.Height = pic.W, pic.H
	if seen.AnyPainted() {
		url, err := seen.DataURL()
		if err != nil {
			return nil, "", err
		}
		req.CanvasPNG = url
	}
	return a.redraw(ctx, req, pic.Clone())
}

// redraw plays the think call (when needed) and the paint call of req, and
// writes the paint call's strips into out.
func (a *apiHandler) redraw(ctx context.Context, req protocol.CallRequest, out *canvas.Canvas) (*canvas.Canvas, string, error) {
	if err := a.think(ctx, &req); err != nil {
		return nil, "", err
	}
	_, err := a.g.Call(ctx, protocol.Call{Role: protocol.RolePaint, Request: req}, func(p protocol.Payload) error {
		s, ok := p.(*protocol.CallStrip)
		if !ok {
			return nil
		}
		st, err := canvas.DecodeBase64(s.PNG, s.Rows, out.W, s.Tokens)
		if err != nil {
			return err
		}
		st.Tokens = nil // out is a picture: its token view, if any, is not kept
		return out.Put(st)
	})
	if err != nil {
		return nil, "", err
	}
	return out, req.Thought, nil
}

// think sets req.Thought with a think call when the request has none and
// its settings think.
func (a *apiHandler) think(ctx context.Context, req *protocol.CallRequest) error {
	if req.Thought != "" || !req.Settings.Think {
		return nil
	}
	done, err := a.g.Call(ctx, protocol.Call{Role: protocol.RoleThink, Request: *req}, func(protocol.Payload) error { return nil })
	if err != nil {
		return err
	}
	req.Thought = done.Thought.Text
	return nil
}

// redrawTokens paints req.Rows (token rows) of req.Canvas (a token view)
// anew with a token model and returns the new token view and thought.
func (a *apiHandler) redrawTokens(ctx context.Context, req protocol.CallRequest) ([]int, string, error) {
	g := engine.TokenGeometry
	out := slices.Clone(req.Canvas) // rows outside the band stay as sent
	seen := slices.Clone(req.Canvas)
	for i := req.Rows.Start * g.Grid; i < len(seen); i++ {
		seen[i] = -1
	}
	req.Canvas = seen
	req = TokenRequest(req)
	if err := a.think(ctx, &req); err != nil {
		return nil, "", err
	}
	_, err := a.g.Call(ctx, protocol.Call{Role: protocol.RolePaint, Request: req}, func(p protocol.Payload) error {
		if s, ok := p.(*protocol.CallStrip); ok && len(s.Tokens) > 0 {
			copy(out[s.Rows.Start/g.Unit*g.Grid:], s.Tokens)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, req.Thought, nil
}

// markedRows is the band of token rows holding a marked cell of a
// grid×grid grid: [first, last+1).
func markedRows(marked []bool, grid int) (protocol.Rows, bool) {
	r0, r1 := -1, -1
	for i, m := range marked {
		if m {
			row := i / grid
			if r0 < 0 {
				r0 = row
			}
			r1 = row + 1
		}
	}
	return protocol.Rows{Start: r0, End: r1}, r0 >= 0
}

// parseEditPrompt reads an edit's prompt: plain text is the user's prompt;
// lines "Prompt: …", "Thought: …" and "Thoughts: a | b | …" label the parts.
func parseEditPrompt(text string) (prompt, thought string, thoughts []string) {
	var rest []string
	labelled := false
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		key := strings.ToLower(strings.TrimSpace(k))
		switch {
		case ok && key == "prompt":
			prompt, labelled = strings.TrimSpace(v), true
		case ok && key == "thought":
			thought, labelled = strings.TrimSpace(v), true
		case ok && key == "thoughts":
			labelled = true
			for _, t := range strings.Split(v, "|") {
				thoughts = append(thoughts, strings.TrimSpace(t))
			}
		default:
			rest = append(rest, line)
		}
	}
	if !labelled || prompt == "" {
		prompt = strings.TrimSpace(strings.Join(rest, " "))
	}
	return prompt, thought, thoughts
}

func openPicture(ctx context.Context, pl pictureLimits, fh *multipart.FileHeader, param string, use func(image.Image)) *apiError {
	f, err := fh.Open()
	if err != nil {
		return badRequest("invalid_image", param, "%s: %s", param, textutil.OneLine(err.Error()))
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return badRequest("invalid_image", param, "%s: cannot read the picture: %s", param, textutil.OneLine(err.Error()))
	}
	return decodePicture(ctx, pl, data, param, use)
}

func mapKeys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
