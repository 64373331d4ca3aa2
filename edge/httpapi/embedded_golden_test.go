package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/httpapi"
)

// goldenFile holds the embedded model's answers on the OpenAI-compatible
// endpoints as the build before the pixel path gave them (the tiny test
// weights): sha256 of each picture and each text. TWIG_UPDATE_GOLDEN=1
// writes it (only ever from a build whose answers are the reference).
const goldenFile = "testdata/embedded-golden.json"

const tinyWeights = "../../core/model/testdata/tiny.safetensors"

// TestEmbeddedGolden: with the embedded model as the backend, images/
// generations (256 and 512), images/edits and chat (think, critique) answer
// byte for byte what they did before the endpoints learned real pictures.
func TestEmbeddedGolden(t *testing.T) {
	shipped, err := model.DefaultWeightsBytes()
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := os.ReadFile(tinyWeights)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := model.Default()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := model.Load(context.Background(), tinyWeights)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]golden{
		"shipped": {Weights: hashHex(shipped), Answers: embeddedAnswers(t, sm)},
		"tiny":    {Weights: hashHex(tiny), Answers: embeddedAnswers(t, tm)},
	}
	if os.Getenv("TWIG_UPDATE_GOLDEN") == "1" {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		if g.Weights != w.Weights {
			if name == "tiny" {
				t.Fatalf("the tiny test weights changed (sha256 %s, the golden file's %s)", g.Weights, w.Weights)
			}
			t.Logf("%s weights retrained (sha256 %s): their rows are skipped", name, g.Weights)
			continue
		}
		if len(g.Answers) != len(w.Answers) {
			t.Errorf("%s: %d answers, the golden file has %d", name, len(g.Answers), len(w.Answers))
		}
		for k, h := range w.Answers {
			if g.Answers[k] != h {
				t.Errorf("%s %s: sha256 %s, want %s (the embedded model's answer changed)", name, k, g.Answers[k], h)
			}
		}
	}
}

// golden is one weights file's answers.
type golden struct {
	// Weights is the sha256 of the weights file.
	Weights string `json:"weights"`
	// Answers are the sha256 of each answer's picture or text.
	Answers map[string]string `json:"answers"`
}

func hashHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// embeddedAnswers asks the endpoints of a server on model m.
func embeddedAnswers(t *testing.T, m *model.Model) map[string]string {
	hs := httptest.NewServer(httpapi.Handler(httpapi.Config{Gateway: gateway.New(gateway.Config{Backend: m})}))
	defer hs.Close()
	got := map[string]string{}
	sum := hashHex
	jsonPost := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return out
	}
	images := func(name string, out map[string]any) []byte {
		var first []byte
		for i, d := range out["data"].([]any) {
			it := d.(map[string]any)
			pic, err := base64.StdEncoding.DecodeString(it["b64_json"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = pic
			}
			k := name + "/" + string(rune('0'+i))
			got[k+"/png"] = sum(pic)
			got[k+"/revised"] = sum([]byte(it["revised_prompt"].(string)))
		}
		return first
	}
	const prompt = "a red circle above a blue square"
	pic := images("generate256", jsonPost("/v1/images/generations", `{"prompt":"`+prompt+`","twig":{"seed":1}}`))
	images("generate512", jsonPost("/v1/images/generations", `{"prompt":"`+prompt+`","size":"512x512","n":2,"twig":{"seed":3}}`))

	// the generated picture with rows from 96 down made transparent: a canvas so far
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil {
		t.Fatal(err)
	}
	part := image.NewNRGBA(img.Bounds())
	draw.Draw(part, part.Rect, img, image.Point{}, draw.Src)
	for y := 96; y < 256; y++ {
		for x := 0; x < 256; x++ {
			part.SetNRGBA(x, y, color.NRGBA{})
		}
	}
	var partPNG bytes.Buffer
	png.Encode(&partPNG, part)
	partURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(partPNG.Bytes())
	picURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic)
	chat := func(name, body string) {
		out := jsonPost("/v1/chat/completions", body)
		msg := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
		got[name+"/content"] = sum([]byte(msg["content"].(string)))
		tw, _ := json.Marshal(out["twig"])
		got[name+"/twig"] = sum(tw)
	}
	chat("think", `{"model":"twig","seed":5,"messages":[{"role":"user","content":[{"type":"text","text":"`+prompt+`"},{"type":"image_url","image_url":{"url":"`+partURL+`"}}]},{"role":"assistant","content":"rows 0 5 : new small solid red circle at 1 6"}]}`)
	chat("critique", `{"model":"twig-critic","seed":5,"messages":[{"role":"user","content":[{"type":"text","text":"`+prompt+`"},{"type":"image_url","image_url":{"url":"`+picURL+`"}}]},{"role":"assistant","content":"rows 0 5 : new small solid red circle at 1 6"}]}`)

	// an edit of rows 96–175 (the mask's transparent rows)
	mask := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			if y < 96 || y >= 176 {
				mask.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
			}
		}
	}
	var maskPNG bytes.Buffer
	png.Encode(&maskPNG, mask)
	for _, tc := range []struct{ name, prompt string }{
		{"edit-think", prompt},
		{"edit-thought", "Prompt: " + prompt + "\nThought: rows 6 10 : new large blue square at 8 8\nThoughts: rows 0 5 : new small solid red circle at 1 6"},
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("image", "canvas.png")
		fw.Write(pic)
		fw, _ = mw.CreateFormFile("mask", "mask.png")
		fw.Write(maskPNG.Bytes())
		mw.WriteField("prompt", tc.prompt)
		mw.WriteField("twig", `{"seed":2}`)
		mw.Close()
		resp, err := http.Post(hs.URL+"/v1/images/edits", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("edit: %d %s", resp.StatusCode, b)
		}
		images(tc.name, out)
	}

	return got
}
