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
// round trip each, up to maxDeletesInFlight at once) check the context
// before each key: a context cancelled partway stops the call with the
// context's error, the keys it started deleted, the rest left alone, and
// DeleteCount counts the keys it deleted. They used to delete every key
// whatever the context, and return nil. A Store closed partway stops them
// with backend.ErrClosed.
//
// The context is cancelled (the Store closed) once stopAfter deletes are
// sent. The deletes run concurrently: each of the others in flight may have
// started its key before the stop, so up to stopAfter+bound-1 are sent, the
// first keys (no key is started after a later one was skipped), and every
// one of them is waited for, deleted and counted.
func TestDeleteStopsWhenContextDone(t *testing.T) {
	const n, stopAfter = 200, 5
	bound := min(maxDeletesInFlight, DefaultMaxIdleConns) // batchStore's MaxIdleConns
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
			p, err := s.prefix(context.Background())
			require.NoError(t, err)
			keys := seqKeys("del/", n)
			for _, k := range keys {
				require.NoError(t, setup.Set(bg, k, []byte("v"), time.Minute))
			}
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			r.reset(func() {
				if len(r.deletes()) >= stopAfter {
					if tc.close {
						s.Close()
					} else {
						cancel()
					}
				}
			})
			var got int
			if tc.count {
				got, err = s.DeleteCount(ctx, keys...)
			} else {
				err = s.Delete(ctx, keys...)
			}
			sent := r.deletes()
			assert.GreaterOrEqual(t, len(sent), stopAfter, "deletes sent")
			assert.LessOrEqual(t, len(sent), stopAfter+bound-1, "deletes sent")
			if tc.close {
				require.ErrorIs(t, err, backend.ErrClosed)
			} else {
				require.ErrorIs(t, err, context.Canceled)
				assert.Contains(t, err.Error(), "memcached: ")
				want := make([]string, len(sent))
				for i := range want {
					want[i] = storeKey(p, keys[i])
				}
				assert.ElementsMatch(t, want, sent, "the keys deleted are the first ones")
			}
			if tc.count {
				assert.Equal(t, len(sent), got, "keys deleted")
			}
			vals, err := setup.GetMany(bg, keys)
			require.NoError(t, err)
			if !tc.close {
				for i, v := range vals {
					if i < len(sent) {
						assert.Nil(t, v, "key %s, before the stop", keys[i])
					} else {
						assert.NotNil(t, v, "key %s, after the stop", keys[i])
					}
				}
				return
			}
			// The deletes under way when the Store closed may or may not
			// have been applied, and a key taken before it but not sent
			// (its dial refused) is left alone: the keys sent are not
			// always the first ones. A key not sent is there.
			wasSent := make(map[string]bool)
			for _, k := range sent {
				wasSent[k] = true
			}
			for i, v := range vals {
				if !wasSent[storeKey(p, keys[i])] {
					assert.NotNil(t, v, "key %s, not sent", keys[i])
				}
			}
		})
	}
}
