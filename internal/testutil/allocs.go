package testutil

import (
	"runtime"
	"testing"
)

// allocTries is how many times AllocsPerRun measures at most.
const allocTries = 5

// AllocsPerRun is testing.AllocsPerRun(runs, f), the fewest of up to
// allocTries measurements (it stops at one of none). testing.AllocsPerRun
// counts the allocations of the whole process while f runs: those of other
// goroutines (timers, a finalizer, an earlier test's connection closing)
// land in a measurement now and then, under load mostly, and fail a test
// whose f allocates nothing more. An allocation f makes lands in every
// measurement, and so in the fewest: a test of it guards what it guarded.
// It is not for f whose allocations come and go by design (a sync.Pool
// emptied by a GC): the fewest hides those that come only sometimes.
func AllocsPerRun(runs int, f func()) float64 {
	least := testing.AllocsPerRun(runs, f)
	for i := 1; i < allocTries && least > 0; i++ {
		least = min(least, testing.AllocsPerRun(runs, f))
	}
	return least
}

// AllocsPerRunCalls is the most calls of f that AllocsPerRun(runs, f)
// makes: runs and one to warm up, for each of its measurements. A test whose
// f uses up something at each call (a writer that has one first write)
// makes that many.
func AllocsPerRunCalls(runs int) int { return allocTries * (runs + 1) }

// BytesPerRun returns the bytes allocated by a run of f, the average of
// runs after one to warm up: the fewest of allocTries measurements, as
// AllocsPerRun takes the fewest allocations. runtime.MemStats counts the
// bytes of the whole process, an in-process server's goroutines and
// their buffers included: they land in a measurement now and then, under
// load mostly. Bytes f allocates land in every measurement, and so in the
// fewest.
func BytesPerRun(runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	least := bytesOf(runs, f)
	for i := 1; i < allocTries && least > 0; i++ {
		least = min(least, bytesOf(runs, f))
	}
	return least
}

// bytesOf is the bytes allocated by runs runs of f, divided by runs.
func bytesOf(runs int, f func()) float64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}
