//go:build !js

package main

import (
	"fmt"
	"os"
)

// main explains itself: the browser build only runs as GOOS=js GOARCH=wasm.
// Its logic (internal/webhost) is portable and tested natively.
func main() {
	fmt.Fprintln(os.Stderr, "twig browser build: build it with GOOS=js GOARCH=wasm (make web), not natively")
	os.Exit(2)
}
