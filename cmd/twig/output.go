package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/render"
)

// Output file names.
const (
	imageFile = "image.png"
	gifFile   = "thinking.gif"
	traceFile = "trace.jsonl"
)

func tracePath(dir string) string { return filepath.Join(dir, traceFile) }

// writeOutputs writes image.png from the canvas and thinking.gif from the
// events; it returns the paths written.
func writeOutputs(dir string, c *canvas.Canvas, events []protocol.Event) ([]string, error) {
	film, err := render.Rebuild(events)
	if err != nil {
		return nil, err
	}
	return writeFilm(dir, c, film)
}

// writeFilm writes image.png from the canvas (nil: the film's) — a token
// model's canvas smooth, any other the picture itself at its size and in
// its colours (render.WriteCanvas) — and thinking.gif from the film.
func writeFilm(dir string, c *canvas.Canvas, film *render.Film) ([]string, error) {
	if c == nil {
		c = film.Canvas
	}
	write := func(w *bufio.Writer) error { return render.WriteCanvas(w, c) }
	img := filepath.Join(dir, imageFile)
	if err := writeFile(img, write); err != nil {
		return nil, err
	}
	anim := filepath.Join(dir, gifFile)
	if err := writeFile(anim, func(w *bufio.Writer) error { return render.WriteGIF(w, film) }); err != nil {
		return nil, err
	}
	return []string{img, anim}, nil
}

// writeFile writes path atomically: into a temporary file beside it, renamed
// over path once whole, so that a failure (a full disk, a kill) leaves the
// old file or none, never a half-written or empty one.
func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
