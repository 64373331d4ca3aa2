package main

import (
	"context"
	"fmt"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/train"
)

const trainAbout = `Trains the embedded model from scratch on the synthetic world, with a
fixed seed, checkpoints (resumed automatically when --ckpt exists) and a
one-line progress display. With no flags it reproduces the SFT stage of the
shipped weights (about 2.6–2.8 h on 2 quiet cores, estimated; 'twig rl' then
adds RL: make train runs both); --tiny trains a small model in about a
minute, as CI does.`

func trainCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train", "[flags]", trainAbout)
	var (
		tiny   = fs.Bool("tiny", false, "train the tiny CI model instead of the default")
		out    = fs.String("out", "core/model/weights/default.safetensors", "where to write the trained weights")
		ckpt   = fs.String("ckpt", ".train/ckpt.gob", "checkpoint file, written every few steps and resumed from; empty = none")
		fresh  = fs.Bool("fresh", false, "ignore an existing checkpoint and start over")
		steps  = fs.Int("steps", 0, "optimiser steps (0 = the recipe's)")
		seed   = fs.Uint64("seed", 0, "training seed (0 = the recipe's)")
		every  = fs.Int("log-every", 10, "print a progress line every N steps (when not on a terminal)")
		recipe = fs.String("recipe", "default", "default (the SFT stage), canonical (the SFT+RL weights continued on prompts in canonical form: needs --continue with them; make train runs it), canonical-control (the same with prompts as written: the experiment's control) or dense-review (an experiment, docs/MODEL.md: the default's checkpoint at step 9000 continued 1500 steps on dense plan-review documents)")
		export = fs.Bool("export", false, "write the weights held in --ckpt to --out and exit (inspect a run while it trains)")
		alone  = fs.Bool("held-out-alone", false, "no document's mistake (a plan written wrong on purpose, a band drawn wrong, a plan of the model's own) shows a held-out colour–shape pair beside another object (make train passes it to every SFT stage, as the shipped weights were trained; docs/MODEL.md, Held-out pairs in training documents' mistakes)")
		from   = fs.String("continue", "", "continue the recipe from these weights: for default, the weights of step 6500 (before plan reviews); for canonical, the SFT+RL weights")
	)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *export {
		return exportCheckpoint(e, train.FromCheckpoint, *ckpt, *out)
	}
	o := train.Default()
	switch *recipe {
	case "default":
	case "dense-review":
		o = train.DenseReview()
	case "canonical":
		o = train.Canonical()
	case "canonical-control":
		o = train.CanonicalControl()
	default:
		return usagef("--recipe is default, canonical, canonical-control or dense-review, not %q", *recipe)
	}
	if *tiny {
		o = train.Tiny()
		if *out == "core/model/weights/default.safetensors" {
			*out = "twig-out/tiny.safetensors"
		}
		if *ckpt == ".train/ckpt.gob" {
			*ckpt = ""
		}
	}
	if *steps > 0 {
		if o.StartFrom > 0 {
			return usagef("--steps replaces the default recipe's schedule; --recipe %s has its own (%d steps from step %d)", *recipe, o.Steps-o.StartFrom, o.StartFrom)
		}
		o.Steps, o.Phases, o.Mixes = *steps, nil, nil
	}
	if *seed > 0 {
		o.Seed = *seed
	}
	if *alone {
		o = o.HeldOutAlone()
	}
	if *every <= 0 {
		return usagef("--log-every must be positive")
	}
	fmt.Fprintf(e.stderr, "training d=%d layers=%d heads=%d, %d steps of %d×%d tokens, seed %d\n",
		o.D, o.Layers, o.Heads, o.Steps, o.Rows, o.RowTokens, o.Seed)
	progress := func(p train.Progress) {
		switch {
		case e.tty:
			fmt.Fprintf(e.stderr, "\r\033[K%s", p)
		case p.Step%*every == 0 || p.Step == p.Steps:
			fmt.Fprintln(e.stderr, p)
		}
	}
	var w *model.Weights
	if *from != "" {
		if *fresh {
			return usagef("--continue resumes its checkpoint; remove --ckpt's file instead of passing --fresh")
		}
		m, lerr := model.Load(ctx, *from)
		if lerr != nil {
			return lerr
		}
		at := train.ReflectFrom
		if o.StartFrom > 0 {
			at = o.StartFrom
		}
		w, err = train.Continue(ctx, o, *ckpt, m.W, at, progress)
	} else {
		w, err = train.Run(ctx, o, *ckpt, !*fresh, progress)
	}
	if e.tty {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	if err := train.SaveWeights(*out, w); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%.2fM parameters, %d training tokens)\n", *out, float64(w.Params.NumParams())/1e6, w.Config.TrainTokens)
	return nil
}

// exportCheckpoint writes the weights a training checkpoint holds (read by
// from: an SFT or an RL checkpoint) to out, to inspect a run while it trains.
func exportCheckpoint(e *env, from func(string) (*model.Weights, int, error), ckpt, out string) error {
	w, step, err := from(ckpt)
	if err != nil {
		return err
	}
	if err := train.SaveWeights(out, w); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s from step %d of %s\n", out, step, ckpt)
	return nil
}
