package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/twig-project/twig/internal/world/english"
)

func vocabCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "vocab", "", "Prints every word twig's prompt parser knows, with its kind and meaning.")
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORD\tKIND\tMEANING")
	for _, v := range english.Vocabulary() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Word, v.Kind, v.Meaning)
	}
	return tw.Flush()
}
