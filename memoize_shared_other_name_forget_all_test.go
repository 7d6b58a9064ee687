package caching

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeOtherNameForgetAllOfAnotherName: past maxNamedCounters names,
// the Memoized of the names left share OtherName's memoShared, whose count
// of ForgetAlls (all, landed) is theirs together. A ForgetAll of one of
// them (x) that lands while a Set, Forget or Refresh of another (y) checks
// its epoch made that call write nothing (mayReplace: a ForgetAll whose
// delete landed came after it began) and return nil, though x's ForgetAll
// deleted x's generation, not y's: y's entry of before the call ("old")
// was served after it. Only a ForgetAll of the caller's own generation
// refuses its write now (memoShared.landed).
func TestMemoizeOtherNameForgetAllOfAnotherName(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(ctx context.Context, y *Memoized[int, string]) error
		want string
		inFn bool // x's ForgetAll is made while y's fn runs, not at y's check
	}{
		{"Set", func(ctx context.Context, y *Memoized[int, string]) error { return y.Set(ctx, 1, "set") }, "set", false},
		{"Forget", func(ctx context.Context, y *Memoized[int, string]) error { return y.Forget(ctx, 1) }, "new", false},
		{"Refresh", func(ctx context.Context, y *Memoized[int, string]) error {
			v, err := y.Refresh(ctx, 1)
			assert.Equal(t, "new", v)
			return err
		}, "new", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := New(&Options{Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer c.Close()
			for i := range maxNamedCounters {
				Memoize(c, fmt.Sprint("f", i), func(context.Context, int) (int, error) { return 0, nil })
			}
			var (
				data atomic.Value
				once atomic.Bool
				x    *Memoized[int, string]
			)
			data.Store("old")
			forgetX := func() {
				if once.CompareAndSwap(false, true) {
					assert.NoError(t, x.ForgetAll(context.Background()))
				}
			}
			x = Memoize(c, "x", func(context.Context, int) (string, error) { return "x", nil })
			y := Memoize(c, "y", func(context.Context, int) (string, error) {
				v := data.Load().(string)
				if v == "new" && tc.inFn {
					forgetX()
				}
				return v, nil
			})
			require.Same(t, x.shared, y.shared, "x and y share OtherName's")
			v, err := y.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "old", v)
			key, err := y.Key(1)
			require.NoError(t, err)

			data.Store("new") // the update y's call is made for
			mayReplaceHook = func(k string) {
				if k == key && !tc.inFn {
					forgetX()
				}
			}
			t.Cleanup(func() { mayReplaceHook = nil })
			require.NoError(t, tc.do(ctx, y))
			require.True(t, once.Load(), "x's ForgetAll was not made")
			v, err = y.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, tc.want, v, "%s of y returned nil, and y's entry of before it is served", tc.name)
		})
	}
}

// TestMemoSharedLandedIsBounded: OtherName's memoShared keeps the landed
// ForgetAll of at most maxLanded generations, the latest ones.
func TestMemoSharedLandedIsBounded(t *testing.T) {
	var s memoShared
	for i := range 3 * maxLanded {
		s.landedAt(fmt.Sprint("g", i), uint64(i+1), true)
	}
	s.lmu.Lock()
	n := len(s.landed)
	s.lmu.Unlock()
	assert.Equal(t, maxLanded, n)
	landed, forgot := s.landedOf(fmt.Sprint("g", 3*maxLanded-1))
	assert.Equal(t, uint64(3*maxLanded), landed, "the latest is kept")
	assert.Equal(t, uint64(3*maxLanded), forgot, "the latest is kept")
	landed, forgot = s.landedOf("g0")
	assert.Zero(t, landed, "the oldest is dropped")
	assert.Zero(t, forgot, "the oldest is dropped")
}

// TestMemoizeOtherNameSetAfterForgetAllOfAnotherName: past
// maxNamedCounters names, a ForgetAll of one of the names left (x) made
// after a Set of another (y) superseded, before the Set read its tag
// versions, made the Set remove y's entry rather than store its result
// (Memoized.Set's lateGen reads the count of every ForgetAll of OtherName's,
// not of y's generation), and return nil: the next Get of y computed again
// (a miss, Low). The Set now tells y's own ForgetAlls (memoShared.forgotSince,
// read after mayReplace's wait for saveMu), and removes the entry only where
// one of them, or a dropped record that may be one (maxLanded), came since.
func TestMemoizeOtherNameSetAfterForgetAllOfAnotherName(t *testing.T) {
	ctx := context.Background()
	c, err := New(&Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	for i := range maxNamedCounters {
		Memoize(c, fmt.Sprint("f", i), func(context.Context, int) (int, error) { return 0, nil })
	}
	var calls atomic.Int32
	hold, held, release := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	x := Memoize(c, "x", func(context.Context, int) (string, error) { return "x", nil })
	y := Memoize(c, "y", func(context.Context, int) (string, error) {
		calls.Add(1)
		return "computed", nil
	}, ArgTags(func(int) []string {
		select {
		case <-hold:
			close(held)
			<-release
		default:
		}
		return []string{"t"}
	}))
	require.Same(t, x.shared, y.shared, "x and y share OtherName's")
	_, err = y.Get(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 1, calls.Load())

	hold <- struct{}{} // the Set's ArgTags, past its supersede
	done := make(chan error, 1)
	go func() { done <- y.Set(ctx, 1, "set") }()
	<-held
	require.NoError(t, x.ForgetAll(ctx))
	close(release)
	require.NoError(t, <-done)
	v, err := y.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "set", v, "y's Set returned nil, and its result is not stored: x's ForgetAll deleted x's generation only")
}

// TestMemoSharedForgotSinceDropped: forgotSince tells the ForgetAlls of
// one generation from those of others, and answers yes where the record of
// a ForgetAll counted since was dropped (maxLanded): it may have been the
// generation's own.
func TestMemoSharedForgotSinceDropped(t *testing.T) {
	var s memoShared
	s.landedAt("y", 1, false)
	s.landedAt("x", 2, true)
	assert.True(t, s.forgotSince(&memoEpoch{all: 0}, "y"), "y's own, counted 1")
	assert.False(t, s.forgotSince(&memoEpoch{all: 1}, "y"), "x's only since")
	for i := range maxLanded {
		s.landedAt(fmt.Sprint("g", i), uint64(i+3), false)
	}
	_, forgot := s.landedOf("y")
	require.Zero(t, forgot, "y's record is dropped")
	assert.True(t, s.forgotSince(&memoEpoch{all: 1}, "y"), "x's record, counted 2, is dropped: it may be y's")
	assert.False(t, s.forgotSince(&memoEpoch{all: 2}, "y"), "only records kept came since")
	assert.True(t, s.forgotSince(&memoEpoch{all: 2}, "g63"), "g63's own")
}
