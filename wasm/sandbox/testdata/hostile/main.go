// Command hostile is a test guest that misbehaves on purpose; the prompt
// picks how:
//
//	memory  allocate until the memory cap stops it
//	files   try to read and write files and open sockets; print what happened
//	panic   panic
//
// Built by the sandbox tests with GOOS=wasip1 -buildmode=c-shared.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/guest"
)

var keep [][]byte

func policy(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	switch spec.Prompt {
	case "memory":
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "files":
		var errs []error
		if data, err := os.ReadFile("/etc/passwd"); err == nil {
			return engine.Result{}, fmt.Errorf("LEAK: read %d bytes of /etc/passwd", len(data))
		} else {
			errs = append(errs, err)
		}
		if _, err := os.ReadDir("/"); err == nil {
			return engine.Result{}, errors.New("LEAK: listed /")
		} else {
			errs = append(errs, err)
		}
		if err := os.WriteFile("/tmp/twig-hostile", []byte("x"), 0o644); err == nil {
			return engine.Result{}, errors.New("LEAK: wrote /tmp/twig-hostile")
		} else {
			errs = append(errs, err)
		}
		if c, err := net.Dial("tcp", "127.0.0.1:80"); err == nil {
			c.Close()
			return engine.Result{}, errors.New("LEAK: opened a socket")
		} else {
			errs = append(errs, err)
		}
		fmt.Fprintln(os.Stderr, "contained:", strings.ReplaceAll(errors.Join(errs...).Error(), "\n", "; "))
		return engine.Result{}, errors.New("contained")
	case "panic":
		panic("hostile guest panics")
	}
	return engine.Draw(ctx, b, spec, sink)
}

func init() { guest.Serve(policy) }

func main() {}
