//go:build unix

package nn

import "syscall"

// cpuSeconds is the CPU time this process has used (user + system). On a
// shared machine a benchmark's flops per CPU-second is steadier than per
// wall-second, which counts the time other processes held the cores.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
