//go:build !wasip1

package guest

// Run plays twig_run natively against h: the guest's code path without
// wasm, for tests.
func Run(h Host, input []byte) uint32 { return play(h, input) }

// Flags is twig_flags: the abi.Flag bits the served options ask for.
func Flags() uint32 { return flags() }
