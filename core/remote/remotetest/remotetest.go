// Package remotetest is an OpenAI-compatible provider for tests: a real
// HTTP server (httptest) whose chat model writes prose thoughts (streamed
// as SSE, as OpenAI does) and JSON scores, and whose image model answers
// every edit or generation with a real photograph at its own size — a
// different photo per call, ignoring the mask as real providers partly do,
// so that a client's compositing is what keeps the pixels outside a band.
//
// The photographs are Debian's mate-backgrounds (camera photographs under
// /usr/share/backgrounds/mate/nature, GPL-2+); .ci/run installs the
// package. Photos fails the test, naming the package, when they are
// missing.
package remotetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // the photographs
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// PhotoDir holds the photographs (Debian package mate-backgrounds).
const PhotoDir = "/usr/share/backgrounds/mate/nature"

// PhotoNames are the photographs the provider answers with, in turn.
var PhotoNames = []string{"Dune.jpg", "Storm.jpg", "LadyBird.jpg", "FreshFlower.jpg"}

// Photos decodes the photographs; a missing one fails the test with the
// package to install.
func Photos(t testing.TB) []image.Image {
	t.Helper()
	var out []image.Image
	for _, n := range PhotoNames {
		f, err := os.Open(filepath.Join(PhotoDir, n))
		if err != nil {
			t.Fatalf("remotetest: the test photographs are missing (%v): apt-get install mate-backgrounds (.ci/run does)", err)
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("remotetest: %s: %v", n, err)
		}
		out = append(out, img)
	}
	return out
}

// Edit is an image request the provider received.
type Edit struct {
	// Path is /v1/images/edits or /v1/images/generations.
	Path string
	// Prompt is the request's prompt.
	Prompt string
	// ImageW, ImageH are the sent image's size (0 for a generation).
	ImageW, ImageH int
	// MaskRows are the mask's fully transparent rows, as [start, end) runs.
	MaskRows [][2]int
	// Photo is the index in PhotoNames of the photo answered.
	Photo int
}

// ChatCall is a chat request the provider received.
type ChatCall struct {
	// Critic is set for a critique (the request asks for a JSON score).
	Critic bool
	// Band is the band number the request names (from 1), 0 when none.
	Band int
	// Stream is the request's stream flag.
	Stream bool
	// ImageW, ImageH are the attached picture's size (0: none); Colours
	// counts its distinct colours.
	ImageW, ImageH, Colours int
	// Text is the last user message's text.
	Text string
}

// Provider is the test server. Its URL is the API root (…/v1).
type Provider struct {
	*httptest.Server
	// URL is the API root to give a client: the server's URL + "/v1".
	URL  string
	side int
	pngs [][]byte

	mu       sync.Mutex
	edits    []Edit
	chats    []ChatCall
	critique map[int]int // critiques so far by band
	next     int         // the next photo
}

// New starts a provider whose image model answers side×side pictures:
// a centre crop of each photo, scaled with Catmull-Rom. It is closed when
// the test ends.
func New(t testing.TB, side int) *Provider {
	t.Helper()
	p := &Provider{side: side, critique: map[int]int{}}
	for _, img := range Photos(t) {
		b := img.Bounds()
		s := min(b.Dx(), b.Dy())
		crop := image.Rect(b.Min.X+(b.Dx()-s)/2, b.Min.Y+(b.Dy()-s)/2, 0, 0)
		crop.Max = crop.Min.Add(image.Pt(s, s))
		dst := image.NewNRGBA(image.Rect(0, 0, side, side))
		xdraw.CatmullRom.Scale(dst, dst.Rect, img, crop, draw.Src, nil)
		var buf bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, dst); err != nil {
			t.Fatal(err)
		}
		p.pngs = append(p.pngs, buf.Bytes())
	}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.Server.URL + "/v1"
	t.Cleanup(p.Close)
	return p
}

// Answer is the picture the image model answers with photo i (an index in
// PhotoNames), decoded.
func (p *Provider) Answer(i int) image.Image {
	img, err := png.Decode(bytes.NewReader(p.pngs[i]))
	if err != nil {
		panic(err) // encoded by New
	}
	return img
}

// Reset forgets the requests and critiques so far: the next run is
// critiqued afresh (each band's first critique asks for a redraw).
func (p *Provider) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.edits, p.chats, p.critique, p.next = nil, nil, map[int]int{}, 0
}

// Edits are the image requests so far, in order.
func (p *Provider) Edits() []Edit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Edit(nil), p.edits...)
}

// Chats are the chat requests so far, in order.
func (p *Provider) Chats() []ChatCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ChatCall(nil), p.chats...)
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/chat/completions":
		p.chat(w, r)
	case "/v1/images/edits", "/v1/images/generations":
		p.image(w, r)
	default:
		http.Error(w, `{"error":{"message":"no such endpoint","type":"invalid_request_error"}}`, http.StatusNotFound)
	}
}

// Thoughts are the thinker's sentences, by band (the last repeats).
var Thoughts = []string{
	"The top of the picture: a pale sky with soft light, clouds thinning towards the left.",
	"The middle of the picture: the land begins, warm sand and green leaves catching the sun.",
	"The bottom of the picture: the foreground in close detail, darker and richer in colour.",
}

var bandRe = regexp.MustCompile(`band (\d+)`)

type chatReq struct {
	Stream   bool `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

type part struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

func (p *Provider) chat(w http.ResponseWriter, r *http.Request) {
	var req chatReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	call := ChatCall{Stream: req.Stream}
	for _, m := range req.Messages {
		var s string
		var parts []part
		if json.Unmarshal(m.Content, &s) != nil {
			_ = json.Unmarshal(m.Content, &parts)
		} else {
			parts = []part{{Type: "text", Text: s}}
		}
		for _, pt := range parts {
			if m.Role == "system" && strings.Contains(pt.Text, `{"score"`) {
				call.Critic = true
			}
			if m.Role == "user" && pt.Type == "text" {
				call.Text = pt.Text
			}
			if pt.ImageURL != nil {
				call.ImageW, call.ImageH, call.Colours = picture(pt.ImageURL.URL)
			}
		}
	}
	if m := bandRe.FindStringSubmatch(call.Text); m != nil {
		call.Band, _ = strconv.Atoi(m[1])
	}
	p.mu.Lock()
	p.chats = append(p.chats, call)
	var content string
	if call.Critic {
		// The first critique of a band asks for a redraw; later ones pass.
		n := p.critique[call.Band]
		p.critique[call.Band] = n + 1
		score := 95
		if n == 0 {
			score = 40
		}
		content = fmt.Sprintf(`{"score": %d, "revision": "%s Brighter, with more contrast."}`, score, Thoughts[min(max(call.Band-1, 0), len(Thoughts)-1)])
	} else {
		content = Thoughts[min(max(call.Band-1, 0), len(Thoughts)-1)]
	}
	p.mu.Unlock()
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-test", "object": "chat.completion",
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for i, word := range strings.SplitAfter(content, " ") {
		delta := map[string]any{"content": word}
		if i == 0 {
			delta["role"] = "assistant"
		}
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": nil}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
	}
	b, _ := json.Marshal(map[string]any{"id": "chatcmpl-test", "object": "chat.completion.chunk",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", b)
}

// picture decodes a data: URL's picture: its size and distinct colours.
func picture(url string) (w, h, colours int) {
	_, payload, ok := strings.Cut(url, ";base64,")
	if !ok {
		return 0, 0, 0
	}
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return 0, 0, 0
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, 0, 0
	}
	return img.Bounds().Dx(), img.Bounds().Dy(), Colours(img)
}

// Colours counts an image's distinct colours.
func Colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

func (p *Provider) image(w http.ResponseWriter, r *http.Request) {
	e := Edit{Path: r.URL.Path}
	if r.URL.Path == "/v1/images/edits" {
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			http.Error(w, `{"error":{"message":"not a multipart form","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		e.Prompt = r.FormValue("prompt")
		if img := formImage(r.MultipartForm, "image"); img != nil {
			e.ImageW, e.ImageH = img.Bounds().Dx(), img.Bounds().Dy()
		}
		if m := formImage(r.MultipartForm, "mask"); m != nil {
			e.MaskRows = transparentRows(m)
		}
	} else {
		var body struct {
			Prompt string `json:"prompt"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		e.Prompt = body.Prompt
	}
	p.mu.Lock()
	e.Photo = p.next % len(p.pngs)
	p.next++
	p.edits = append(p.edits, e)
	b := p.pngs[e.Photo]
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"created": 0, "data": []any{map[string]any{"b64_json": base64.StdEncoding.EncodeToString(b)}}})
}

func formImage(f *multipart.Form, name string) image.Image {
	if f == nil || len(f.File[name]) == 0 {
		return nil
	}
	fh, err := f.File[name][0].Open()
	if err != nil {
		return nil
	}
	defer fh.Close()
	b, _ := io.ReadAll(fh)
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return img
}

// transparentRows are the runs of rows whose every pixel is transparent.
func transparentRows(m image.Image) [][2]int {
	var out [][2]int
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		clear := true
		for x := b.Min.X; x < b.Max.X && clear; x++ {
			_, _, _, a := m.At(x, y).RGBA()
			clear = a == 0
		}
		switch {
		case !clear:
		case len(out) > 0 && out[len(out)-1][1] == y-b.Min.Y:
			out[len(out)-1][1]++
		default:
			out = append(out, [2]int{y - b.Min.Y, y - b.Min.Y + 1})
		}
	}
	return out
}
