package timing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestReserveKeepsPlace: a metric reserved before MaxMetrics others keeps
// its place, reported only once Set, once; the zero Reservation does
// nothing.
func TestReserveKeepsPlace(t *testing.T) {
	Reservation{}.Set(time.Second, "nothing") // no recorder: no panic
	ctx := WithRecorder(context.Background())
	res := Reserve(ctx, "cache")
	for i := range MaxMetrics {
		Add(ctx, fmt.Sprintf("m%d", i), 0, "")
	}
	m := Metrics(ctx)
	assert.Len(t, m, MaxMetrics-1, "pending: not reported")
	res.Set(0, "miss")
	res.Set(0, "hit") // once
	m = Metrics(ctx)
	assert.Len(t, m, MaxMetrics)
	assert.Equal(t, Metric{Name: "cache", Desc: "miss"}, m[0])
	assert.Equal(t, Reservation{}, Reserve(context.Background(), "cache"))
}
