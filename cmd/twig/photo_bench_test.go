package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote/remotetest"
	"github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/wsconn"
)

// BenchmarkPhotoPaths draws one real-photo picture (3 bands, thinking and
// reflecting, on the photo provider at 1024×1024) per op on each path:
// twig draw --backend openai (the CLI), a websocket run on twig serve
// --backend openai, POST /v1/images/generations on it, and twig draw
// --backend twig against it (the remote twig chain, every role a POST
// /v1/calls). It reports the provider's calls per picture (chat, image
// edits) and ms per picture; the README's numbers are medians of
// `go test -run '^$' -bench PhotoPaths -benchtime 1x -count 5 ./cmd/twig`.
func BenchmarkPhotoPaths(b *testing.B) {
	prov := remotetest.New(b, 1024)
	host := photoServe(b, prov)
	base := "http://" + host + "/v1"
	const prompt = "a dune at dusk, photographed with a long lens"
	report := func(b *testing.B, took time.Duration) {
		n := float64(b.N)
		b.ReportMetric(float64(len(prov.Chats()))/n, "chat/picture")
		b.ReportMetric(float64(len(prov.Edits()))/n, "edits/picture")
		b.ReportMetric(float64(took.Milliseconds())/n, "ms/picture")
		b.ReportMetric(0, "ns/op") // the ms/picture above is the figure
	}
	draw := func(b *testing.B, args ...string) {
		prov.Reset()
		t0 := time.Now()
		for range b.N {
			out := filepath.Join(b.TempDir(), "out")
			o := twigTB(b, append(append([]string{"draw"}, args...), "--bands", "3", "--out", out, prompt)...)
			if o.code != 0 {
				b.Fatalf("draw: %+v", o)
			}
		}
		report(b, time.Since(t0))
	}
	b.Run("cli", func(b *testing.B) { draw(b, "--backend", "openai", "--base-url", prov.URL) })
	b.Run("serve-ws", func(b *testing.B) {
		conn, _, err := wsconn.Dial(context.Background(), "ws://"+host+"/v1/ws", wsconn.DialOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cl := client.New(conn)
		defer cl.Close()
		s := protocol.DefaultSettings()
		s.Bands = 3
		prov.Reset()
		t0 := time.Now()
		for range b.N {
			if err := cl.Draw(context.Background(), prompt, s, func(protocol.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		report(b, time.Since(t0))
	})
	b.Run("images", func(b *testing.B) {
		prov.Reset()
		t0 := time.Now()
		for range b.N {
			out := postJSON(b, base+"/images/generations", `{"prompt":"`+prompt+`","twig":{"settings":{"bands":3}}}`)
			if img := decodeItem(b, out); img.Bounds().Dx() != 1024 {
				b.Fatalf("a %v picture", img.Bounds())
			}
		}
		report(b, time.Since(t0))
	})
	b.Run("twig-chain", func(b *testing.B) { draw(b, "--backend", "twig", "--base-url", base) })
}

// twigTB runs the CLI in-process on the default backends (twig, for a testing.TB).
func twigTB(tb testing.TB, args ...string) outcome {
	tb.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, backend: defaultBackend}
	code := run(context.Background(), e, args)
	return outcome{code, out.String(), errb.String()}
}
