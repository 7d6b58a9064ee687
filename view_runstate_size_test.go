package caching

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestRunStateSize: every miss allocates a runState (RefreshIf's, a
// lookup's, a HEAD's with its Recorder), which is what a miss's B/op grows
// by when it grows. It held the run's failure answer (48 bytes) and its
// flags a word apiece here and there, 400 bytes that the allocator serves
// from its 416-byte class; the failure's answer is now allocated by a
// failed run alone, and the flags fill two words. What only a background
// refresh needs (refreshRun, 48 bytes) is the refresh's own, in the
// allocation of its runState (newRefresh), which keeps a miss's in the
// 288-byte class (runtime/sizeclasses.go: 256, 288, 320), and a refresh's
// at one allocation.
func TestRunStateSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(runState{}), uintptr(288),
		"runState outgrew the allocator's 288-byte size class: every miss allocates 32 bytes more per class crossed")
	assert.LessOrEqual(t, unsafe.Sizeof(runReport{}), uintptr(32), "runReport, in every runState, has padding between its fields")
	var st *runState
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() {
		st = newRefresh(runState{base: "k"}, refreshRun{replaces: 1})
	}), "a refresh's runState and refreshRun are one allocation")
	assert.True(t, st.background, "newRefresh makes a background run")
	assert.Equal(t, int64(1), st.refresh.replaces)
}
