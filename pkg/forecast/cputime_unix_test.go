//go:build unix

package forecast

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, user and system: on a
// machine shared with other work it tells a benchmark's own cost apart from
// the time it waited for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
