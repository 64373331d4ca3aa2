// Command twig is the sandbox's engine guest: twig's own TwiG loop
// (engine.Draw) as a wasip1 reactor. Build it with `make sandbox-guest`; the
// result is embedded in the twig binary (wasm/sandbox/twig-guest.wasm).
package main

import (
	"runtime/debug"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/guest"
)

func init() {
	// engine.Draw keeps no strip past its callback and no canvas past its
	// run, and reads no pixels: the SDK may lend it both, and the host
	// keep the pixels (guest.Options).
	guest.ServeWith(engine.Draw, guest.Options{Lend: true, NoPixels: true, PaintAhead: true, ThinkAhead: true})
	// A run's garbage is mostly its strips' PNG buffers; collecting at
	// every 4 MiB of it was a tenth of the guest's time. The heap may
	// grow to five times what is live, under a soft limit well inside the
	// sandbox's memory cap (64 MiB by default) and the half of it under
	// which an instance plays another run.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(24 << 20)
}

func main() {}
