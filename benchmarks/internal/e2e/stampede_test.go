package e2e

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
)

// TestStampede runs the stampede benchmark small: with the lease, every
// cold key runs the handler once over the processes; without it, once per
// process at most.
func TestStampede(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	env := Env{
		Self:    []string{os.Args[0], "serve"},
		SelfEnv: []string{"E2E_SERVE=1"},
		Redis:   "redis://" + testutil.RedisAddr(t) + "/0",
		Prefix:  "caching-stampede-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
	}
	results, err := Stampede(context.Background(), StampedeOptions{Env: env, Procs: 3, Conc: 10, Rounds: 2, Work: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	none, leased := results[0], results[1]
	for i := range 2 {
		if n := none.Runs[i]; n < 1 || n > 3 {
			t.Errorf("without the lease, round %d: %d handler runs, want 1 to 3 (one per process at most)", i, n)
		}
		if n := leased.Runs[i]; n != 1 {
			t.Errorf("with the lease, round %d: %d handler runs, want 1", i, n)
		}
	}
	if none.Errors+leased.Errors != 0 || leased.Latency.Count() != 2*3*10 {
		t.Errorf("errors %d and %d, %d requests measured", none.Errors, leased.Errors, leased.Latency.Count())
	}
	var out bytes.Buffer
	WriteStampede(&out, results, 100*time.Millisecond)
	if !strings.Contains(out.String(), "| Lease(2s) | 1.00, 1 |") {
		t.Errorf("table:\n%s", out.String())
	}
}
