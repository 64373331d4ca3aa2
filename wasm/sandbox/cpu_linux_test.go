package sandbox

import (
	"syscall"
	"time"
)

// threadCPU is the calling thread's CPU time (lock the goroutine to its
// thread around a measurement): on a shared machine it measures a run's
// work where wall time measures the neighbours too.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the whole process's CPU time: with it a benchmark counts
// the work its runs leave to other threads too (GC, zeroing guest memory).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
