// Command twig draws pictures while thinking: before each band of rows it
// writes a thought, after the band a critic scores it and a poor band is
// redrawn. Run `twig --help` for the sub-commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/twig-project/twig/internal/textutil"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the run (or replay) failed
	exitUsage = 2 // bad flags or arguments
)

// env is what a command may touch of the outside world, so tests can swap it.
type env struct {
	stdout, stderr io.Writer
	// tty is true when stdout is a terminal (live progress bars redraw in place).
	tty bool
	// backend makes the model backend for draw (and later eval, serve).
	backend func(context.Context, backendOptions) (Backend, error)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, tty: isTerminal(os.Stdout), backend: defaultBackend}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches to a sub-command and turns its error into an exit code and
// one line on stderr.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			if c := lookup(args[1]); c != nil {
				return run(ctx, e, []string{c.name, "-h"})
			}
		}
		usage(e.stdout)
		return exitOK
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(e.stderr, "twig: unknown command %q: run 'twig --help' for the list\n", name)
		return exitUsage
	}
	err := c.run(ctx, e, args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, new(usageError)):
		fmt.Fprintf(e.stderr, "twig %s: %s (see 'twig %s -h')\n", name, textutil.OneLine(err.Error()), name)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "twig %s: %s\n", name, textutil.OneLine(err.Error()))
		return exitFail
	}
}

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

func usage(w io.Writer) {
	fmt.Fprint(w, `twig draws a picture while thinking: before each band of rows it writes a
thought, after the band a critic scores it, and a poor band is redrawn.

Usage:
  twig <command> [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'twig <command> -h' for a command's flags.
Exit codes: 0 ok, 1 the run failed, 2 bad usage.
`)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
