// Command twig is the sandbox's engine guest: twig's own TwiG loop
// (engine.Draw) as a wasip1 reactor. Build it with `make sandbox-guest`; the
// result is embedded in the twig binary (wasm/sandbox/twig-guest.wasm).
package main

import (
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/guest"
)

func init() { guest.Serve(engine.Draw) }

func main() {}
