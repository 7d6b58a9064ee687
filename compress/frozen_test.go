package compress

import (
	"net/http"
	"testing"
)

// TestReleaseDropsRecordedHeader: the slabs that record a response's header
// are kept by the pooled writer, but not the fields: a Set-Cookie of one
// response must not stay reachable from the pool until the next.
func TestReleaseDropsRecordedHeader(t *testing.T) {
	w := &responseWriter{}
	w.record(http.Header{"Set-Cookie": {"session=secret"}, "content-type": {"text/plain"}})
	w.freeze()
	w.release()
	if w.frozen || len(w.snapKeys) != 0 || len(w.snapVals) != 0 {
		t.Fatalf("a released writer still records a header: %v %v", w.snapKeys, w.snapVals)
	}
	for _, f := range w.snapKeys[:cap(w.snapKeys)] {
		if f.key != "" {
			t.Errorf("the pooled slab keeps the key %q", f.key)
		}
	}
	for _, v := range w.snapVals[:cap(w.snapVals)] {
		if v != "" {
			t.Errorf("the pooled slab keeps the value %q", v)
		}
	}
}
