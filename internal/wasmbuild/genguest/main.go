// Command genguest rebuilds the sandbox's embedded engine guest
// (wasm/sandbox/twig-guest.wasm) and records the hash of its sources
// (wasm/sandbox/guest.sum). Run it from wasm/sandbox: `go generate
// ./wasm/sandbox`, or `make sandbox-guest`.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/twig-project/twig/internal/wasmbuild"
)

// Guest is the engine guest's package; the paths are relative to wasm/sandbox.
const (
	Guest = "github.com/twig-project/twig/wasm/guest/twig"
	Wasm  = "twig-guest.wasm"
	Sum   = "guest.sum"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "genguest:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := wasmbuild.Build(".", Guest, Wasm); err != nil {
		return err
	}
	h, err := wasmbuild.SourceHash(".", Guest)
	if err != nil {
		return err
	}
	wasm, err := os.ReadFile(Wasm)
	if err != nil {
		return err
	}
	note := fmt.Sprintf("%s\nwasm %s\n# line 1: the hash of the sources of %s (wasmbuild.SourceHash);\n# line 2: the hash of %s, built from them with %s. Rebuild both: make sandbox-guest\n",
		h, wasmbuild.Hash(wasm), Guest, Wasm, runtime.Version())
	return os.WriteFile(Sum, []byte(note), 0o644)
}
