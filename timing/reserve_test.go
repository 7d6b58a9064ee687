package timing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestReserveFullSetOnce: a Reservation made once MaxMetrics were kept
// counted a dropped metric at each Set, though Set fills it once: the
// Report and the header's omitted said more metrics were left out than
// were.
func TestReserveFullSetOnce(t *testing.T) {
	ctx := WithRecorder(context.Background())
	for i := range MaxMetrics {
		Add(ctx, fmt.Sprintf("m%d", i), 0, "")
	}
	res := Reserve(ctx, "cache")
	res.Set(0, "miss")
	res.Set(0, "hit")
	_, _, dropped := fromContext(ctx).snapshot()
	assert.Equal(t, 1, dropped, "one metric left out")
}

// TestReserveKeepsPlaceInHeader: a metric reserved before metrics whose
// header passes MaxHeaderBytes is sent first once Set; one never Set
// sends no entry, and is counted in no omitted.
func TestReserveKeepsPlaceInHeader(t *testing.T) {
	ctx := WithRecorder(context.Background())
	res := Reserve(ctx, "cache")
	Reserve(ctx, "never") // never Set
	const n = 100
	for i := range n {
		Add(ctx, fmt.Sprintf("step%03d", i), time.Millisecond, "a step of the page")
	}
	res.Set(0, "miss")
	h := string(fromContext(ctx).seal(nil, true))
	assert.True(t, strings.HasPrefix(h, "cache;desc=miss, step000;"), "first: %.60s", h)
	assert.NotContains(t, h, "never")
	assert.LessOrEqual(t, len(h), MaxHeaderBytes+len(", omitted;desc=100"))
	i := strings.LastIndex(h, "omitted;desc=")
	require.GreaterOrEqual(t, i, 0, "some steps left out: %s", h)
	left, err := strconv.Atoi(h[i+len("omitted;desc="):])
	require.NoError(t, err)
	assert.Equal(t, n-strings.Count(h, "step0"), left, "the steps left out, not the empty place")
}
