package sandbox

import _ "embed"

// guestWasm is the engine's loop built as a wasip1 reactor from
// wasm/guest/twig (`make sandbox-guest`). guest.sum records the hash of
// the sources it was built from; a test checks it is up to date.
//
//go:embed twig-guest.wasm
var guestWasm []byte

// EngineGuest returns the embedded engine guest module (a copy), e.g. to
// write it out as a starting point or to run it with RunModule.
func EngineGuest() []byte { return append([]byte(nil), guestWasm...) }

//go:generate go run ../../internal/wasmbuild/genguest
