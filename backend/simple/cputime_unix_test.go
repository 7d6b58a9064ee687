//go:build unix

package simple_test

import (
	"syscall"
	"time"
)

// processCPUTime is the CPU time this process has used, all threads. The
// benchmarks report it per op next to wall time, which on a shared machine
// counts the time other processes held the cores.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
