//go:build !amd64

package kernels

// kernelsHere lists the micro-kernels this machine can run: off amd64 only
// the portable one.
func kernelsHere() []*microKernel { return []*microKernel{goKernel} }

// peakLoops: no assembly FMA loop off amd64.
func peakLoops() []peakLoop { return nil }
