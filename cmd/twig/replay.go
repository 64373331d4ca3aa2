package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/render"
)

const replayAbout = `Rebuilds image.png and thinking.gif from a trace.jsonl written by
'twig draw' (any twig/2 event stream, or a twig/1 trace of an older
build: it gives the same files as when it was drawn), without a model.`

func replay(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "replay", "[flags] TRACE.jsonl", replayAbout)
	out := fs.String("out", "", "folder for image.png and thinking.gif (default: a new folder under ./twig-out)")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one trace file, got %d arguments", len(pos))
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("cannot read the trace: %w", err)
	}
	defer f.Close()
	// Events stream into the player one at a time (a trace is never held
	// whole); the player bounds the frames, so a forged trace is refused
	// as it is read. Nothing is written until the whole trace checked out.
	rd := protocol.NewReader(f)
	p := render.NewPlayer()
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if err := p.Apply(ev); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	}
	film, err := p.Film()
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	dir, err := outDir(*out)
	if err != nil {
		return err
	}
	files, err := writeFilm(dir, nil, film)
	if err != nil {
		return err
	}
	switch {
	case film.Failure != nil:
		fmt.Fprintf(e.stdout, "note: the traced run failed: %s\n", film.Failure.Message)
	case film.Done == nil:
		fmt.Fprintln(e.stdout, "note: the trace ends before the run did; the picture is partial")
	}
	for _, p := range files {
		fmt.Fprintln(e.stdout, "wrote", p)
	}
	return nil
}
