package caching

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestGetOrSetOtherTypePanicIsNotTheJoiners: a GetOrSet[int] that joined a
// panicking GetOrSet[string] load panicked with it (a bug in an unrelated
// loader took down the int caller's request); it gets what it would have
// got had it come just after that load: its own load's 7.
func TestGetOrSetOtherTypePanicIsNotTheJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		stringPanic := make(chan any, 1)
		go func() {
			defer func() { stringPanic <- recover() }()
			_, _ = GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (string, error) {
				<-release
				panic("string loader bug")
			})
		}()
		synctest.Wait()
		type res struct {
			v        int
			err      error
			panicked any
		}
		done := make(chan res, 1)
		go func() {
			var r res
			defer func() { r.panicked = recover(); done <- r }()
			r.v, r.err = GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
		}()
		synctest.Wait()
		close(release)
		r := <-done
		if r.panicked != nil || r.err != nil || r.v != 7 {
			t.Fatalf("int caller got v=%d err=%v panic=%.60v", r.v, r.err, r.panicked)
		}
		// The string caller, whose load it was, gets its panic as before:
		// a *PanicError of the value its load panicked with.
		pe, ok := (<-stringPanic).(*PanicError)
		if !ok || pe.Value != "string loader bug" {
			t.Fatalf("the string caller recovered %#v, want a *PanicError of its load's value", pe)
		}
	})
}

// TestGetOrSetOwnGoexitLoadRunsOnce: a load that calls runtime.Goexit
// (t.FailNow does) ran four times once a result without a value of the
// caller's type was taken for another type's; it runs once and the caller
// gets flight's ErrGoexit.
func TestGetOrSetOwnGoexitLoadRunsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int32
		_, err := GetOrSet(t.Context(), c, "k", time.Minute, func(context.Context) (int, error) {
			calls.Add(1)
			runtime.Goexit()
			return 0, nil
		})
		if n := calls.Load(); n != 1 || err == nil {
			t.Fatalf("load ran %d times (err %v), want once and an error", n, err)
		}
	})
}

// TestGetOrSetCtxEndNotOtherTypesError: a GetOrSet[int] whose context
// ends just as the string load it joined fails returned the string load's
// error, not its own context's.
func TestGetOrSetCtxEndNotOtherTypesError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	bad := 0
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			bg := t.Context()
			c := Must(nil)
			defer c.Close()
			ictx, cancel := context.WithCancel(bg)
			defer cancel()
			release := make(chan struct{})
			stringLoading(bg, c, release, func() (string, error) {
				cancel() // the int caller's context ends now
				return "", errors.New("string loader: upstream 500")
			})
			done := make(chan error, 1)
			go func() {
				_, err := GetOrSet(ictx, c, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
				done <- err
			}()
			synctest.Wait()
			close(release)
			if err := <-done; !errors.Is(err, context.Canceled) {
				bad++
				t.Logf("int caller got %v", err)
			}
		})
	}
	if bad > 0 {
		t.Fatalf("%d/20: the int caller whose context ended got another type's error", bad)
	}
}

// TestGetOrSetOtherTypeGoexitIsNotTheJoiners: a string load that called
// runtime.Goexit gave the int caller that joined it flight's ErrGoexit and
// a zero int; it is not the int caller's own: it loads its 7.
func TestGetOrSetOtherTypeGoexitIsNotTheJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		stringLoading(ctx, c, release, func() (string, error) {
			runtime.Goexit()
			return "", nil
		})
		type res struct {
			v   int
			err error
		}
		done := make(chan res, 1)
		go func() {
			v, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
			done <- res{v, err}
		}()
		synctest.Wait()
		close(release)
		if r := <-done; r.err != nil || r.v != 7 {
			t.Fatalf("int caller got v=%d err=%v, want its own load's 7", r.v, r.err)
		}
	})
}
