//go:build unix

package remote

import (
	"syscall"
	"time"
)

// cpuTime is the process's user + system CPU time so far (the benchmarks
// report it beside wall time: on a shared machine it is the steadier cost).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
