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
// failed run alone, and the flags fill two words, which keeps it in the
// 320-byte class (runtime/sizeclasses.go: 288, 320, 352).
func TestRunStateSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(runState{}), uintptr(320),
		"runState outgrew the allocator's 320-byte size class: every miss allocates 32 bytes more per class crossed")
	assert.LessOrEqual(t, unsafe.Sizeof(runReport{}), uintptr(32), "runReport, in every runState, has padding between its fields")
}
