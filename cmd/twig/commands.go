package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// command is one sub-command of twig.
type command struct {
	name    string
	summary string // one line for 'twig --help'
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is the table of sub-commands, in the order 'twig --help' lists
// them. Later issues add theirs here (eval, vocab, train, serve, sandbox),
// each in its own file.
var commands = []command{
	{name: "draw", summary: "draw a picture while thinking, live in the terminal", run: draw},
	{name: "replay", summary: "rebuild image.png and thinking.gif from a trace", run: replay},
	{name: "serve", summary: "serve the model: websockets, OpenAI-compatible HTTP, the web page", run: serve},
	{name: "eval", summary: "run the benchmark: modes × categories, judged from the pictures", run: evalCmd},
	{name: "vocab", summary: "list the words prompts may use", run: vocabCmd},
	{name: "train", summary: "train the embedded model (SFT; twig rl then gives the shipped weights)", run: trainCmd},
	{name: "rl", summary: "TwiG-RL: GRPO on the judge's reward from finished pictures", run: rlCmd},
	{name: "sandbox", summary: "run a TwiG policy module (WebAssembly) in the sandbox", run: sandboxCmd},
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// flagSet is a command's flags plus its help text.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set whose -h prints the command's usage to stdout.
// Parse errors print no usage: run reports them in one line.
func newFlags(e *env, name, args, about string) *flagSet {
	fs := flag.NewFlagSet("twig "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	help := func() {
		fmt.Fprintf(e.stdout, "Usage: twig %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return &flagSet{FlagSet: fs, help: help}
}

// parse parses flags that may come before or after the positional arguments
// (twig draw "a red circle" --seed 1) and returns the positional ones.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				fs.help()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil // after "--" everything is positional
		}
		args = rest
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
