package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStat is what /proc/<pid>/stat says about a process.
type procStat struct {
	CPUSeconds  float64 // user + system
	MinorFaults uint64
	MajorFaults uint64
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); minflt is field 10, majflt 12, utime 14, stime 15.
	if i < 0 || len(f) < 13 {
		return procStat{}, fmt.Errorf("stat of pid %d: unexpected %q", pid, b)
	}
	num := func(field int) uint64 { n, _ := strconv.ParseUint(f[field-3], 10, 64); return n }
	const userHZ = 100 // clock ticks per second of utime and stime on Linux
	return procStat{
		CPUSeconds:  float64(num(14)+num(15)) / userHZ,
		MinorFaults: num(10), MajorFaults: num(12),
	}, nil
}

// cpuTime is the CPU time all threads of a process have run so far, in
// nanoseconds (/proc/<pid>/task/*/schedstat): unlike wall time on a shared
// machine, it does not count waiting for a core. Threads that ended are
// missing, so take it around work done by long-lived threads.
func cpuTime(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("read the threads of pid %d: %w", pid, err)
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			total += ns
		}
	}
	return time.Duration(total), nil
}

// procMemory is VmRSS and VmHWM (peak RSS) of a process, in bytes.
type procMemory struct {
	RSS, Peak int64
}

func readMemory(pid int) (procMemory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMemory{}, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	defer f.Close()
	var m procMemory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = kb << 10
		case "VmHWM":
			m.Peak = kb << 10
		}
	}
	return m, sc.Err()
}

// resetPeak sets VmHWM back to the current RSS (clear_refs value 5), so the
// next readMemory gives the peak from now on.
func resetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS of pid %d: %w", pid, err)
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// logCounter counts the plugin's log lines and bytes, by message, and passes
// them on.
type logCounter struct {
	w io.Writer

	mu       sync.Mutex
	lines    int
	bytes    int64
	messages map[string]int
}

func (c *logCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.messages == nil {
		c.messages = map[string]int{}
	}
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		c.lines++
		c.bytes += int64(len(line)) + 1
		c.messages[logMessage(string(line))]++
	}
	return c.w.Write(p)
}

// loggerNameRe is go-plugin's logger name for the plugin's lines:
// "gpx_kpiflow.<binary name>: ".
var loggerNameRe = regexp.MustCompile(`gpx_kpiflow[^ ]*: `)

// logMessage is a log line's level and message without time and fields:
// "2026-11-28T12:00:00Z [WARN]  gpx_kpiflow: kill ClickHouse query: queryId=..."
// → "[WARN] kill ClickHouse query".
func logMessage(line string) string {
	if i := strings.Index(line, " ["); i >= 0 {
		line = line[i+1:]
	}
	line = loggerNameRe.ReplaceAllString(line, "")
	if i := strings.Index(line, "="); i >= 0 {
		if j := strings.LastIndexByte(line[:i], ' '); j >= 0 {
			line = line[:j]
		}
	}
	line = strings.Join(strings.Fields(line), " ")
	return strings.TrimSuffix(line, ":")
}

// snapshot returns the counts so far.
func (c *logCounter) snapshot() (lines int, size int64, messages map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	messages = make(map[string]int, len(c.messages))
	for k, v := range c.messages {
		messages[k] = v
	}
	return c.lines, c.bytes, messages
}

// topCounts lists the n largest counts as "count× key", largest first.
func topCounts(m map[string]int, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var out []string
	for i, k := range keys {
		if i == n {
			out = append(out, fmt.Sprintf("(%d more)", len(keys)-n))
			break
		}
		out = append(out, fmt.Sprintf("%d× %s", m[k], k))
	}
	return out
}
