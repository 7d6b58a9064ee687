package memcached

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// deletes returns the keys of the deletes written since the last reset.
func (r *recorder) deletes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keys []string
	for _, b := range r.bufs {
		for line := range strings.SplitSeq(b.String(), "\r\n") {
			if rest, ok := strings.CutPrefix(line, "delete "); ok {
				keys = append(keys, rest)
			}
		}
	}
	return keys
}

// TestDeleteStopsWhenContextDone: Delete and DeleteCount of many keys (one
// round trip each) check the context before each key: a context cancelled
// partway stops the call with the context's error, the keys before the stop
// deleted, the rest left alone, and DeleteCount counts the keys it deleted.
// They used to delete every key whatever the context, and return nil. A
// Store closed partway stops them with backend.ErrClosed.
func TestDeleteStopsWhenContextDone(t *testing.T) {
	const n, stopAfter = 200, 5
	bg := context.Background()
	for _, tc := range []struct {
		name  string
		count bool
		close bool
	}{
		{"Delete", false, false},
		{"DeleteCount", true, false},
		{"Close", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r, setup := batchStore(t)
			keys := seqKeys("del/", n)
			for _, k := range keys {
				require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
			}
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			r.reset(func() {
				if len(r.deletes()) == stopAfter {
					if tc.close {
						s.Close()
					} else {
						cancel()
					}
				}
			})
			var got int
			var err error
			if tc.count {
				got, err = s.DeleteCount(ctx, keys...)
			} else {
				err = s.Delete(ctx, keys...)
			}
			if tc.close {
				require.ErrorIs(t, err, backend.ErrClosed)
				assert.LessOrEqual(t, len(r.deletes()), stopAfter, "deletes sent")
			} else {
				require.ErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), "memcached: ")
				assert.Len(t, r.deletes(), stopAfter, "deletes sent")
			}
			if tc.count {
				assert.Equal(t, stopAfter, got, "keys deleted")
			}
			// The delete under way when the Store closed may or may not
			// have been applied.
			deleted := stopAfter
			if tc.close {
				deleted--
			}
			vals, err := setup.GetMany(bg, keys)
			require.NoError(t, err)
			for i, v := range vals {
				if i < deleted {
					assert.Nil(t, v, "key %s, before the stop", keys[i])
				} else if i >= stopAfter {
					assert.NotNil(t, v, "key %s, after the stop", keys[i])
				}
			}
		})
	}
}
