package near_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// noCounters hides the remote store's counter (backend.Incrementer), so
// that the near Store's Incr reads and writes back.
type noCounters struct{ backend.Backend }

// TestIncrWithoutRemoteCountersReadsCountersAsRedis: without the remote's
// counters, Incr reads the value itself. It counted from any text
// strconv.ParseInt reads ("007", "+5", "-0"), which Redis's counters and
// the other stores refuse; now it counts only from an integer as
// strconv.FormatInt writes it, and leaves any other value alone.
func TestIncrWithoutRemoteCountersReadsCountersAsRedis(t *testing.T) {
	ctx := context.Background()
	remote := noCounters{simple.Must(simple.Options{})}
	s := openNear(t, remote, near.Options{})
	for _, v := range []string{"007", "+5", "-0", "00", " 5"} {
		if err := s.Set(ctx, "n", []byte(v), 0); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Incr(ctx, "n", 1); !errors.Is(err, backend.ErrNotInteger) {
			t.Errorf("Incr of %q = %d, %v; want ErrNotInteger", v, n, err)
		}
		if got, err := remote.Get(ctx, "n"); err != nil || string(got) != v {
			t.Errorf("after a refused Incr of %q, the remote holds %q, %v", v, got, err)
		}
	}
	if err := s.Set(ctx, "n", []byte("-8"), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Incr(ctx, "n", 1); err != nil || n != -7 {
		t.Errorf("Incr of %q = %d, %v; want -7", "-8", n, err)
	}
}
