package caching

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGetOrSetOwnLoadAfterOtherTypesKeepsContextRules: a GetOrSet[int] that
// meets maxRejoins loads of another type in a row runs its own load. It
// ran it on the caller's context, in the caller's goroutine: the load got
// the caller's deadline (the doc: "a context that carries its caller's
// values but not its deadline"), and the caller did not return when its
// context was done ("each caller still returns when its own context is
// done"). Three string loads in a row are made here with Delete (which
// forgets the flight) while the int caller waits.
func TestGetOrSetOwnLoadAfterOtherTypesKeepsContextRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bg := t.Context()
		c := Must(nil)
		defer c.Close()
		var rel [maxRejoins]chan struct{}
		startString := func(i int) {
			rel[i] = make(chan struct{})
			stringLoading(bg, c, rel[i], func() (string, error) {
				return "text", nil
			})
		}
		startString(0)
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		intLoad := make(chan struct{}) // the int load ignores ctx, as many do
		sawDeadline := make(chan bool, 1)
		done := make(chan error, 1)
		go func() {
			_, err := GetOrSet(ctx, c, "k", time.Minute, func(lctx context.Context) (int, error) {
				_, has := lctx.Deadline()
				sawDeadline <- has
				<-intLoad
				return 7, nil
			})
			done <- err
		}()
		synctest.Wait() // joined string load 0
		for i := 1; i < maxRejoins; i++ {
			require.NoError(t, c.Delete(bg, "k")) // forgets load i-1
			startString(i)
			close(rel[i-1])
			synctest.Wait() // the int caller joined load i
		}
		close(rel[maxRejoins-1])
		synctest.Wait()
		defer close(intLoad)
		select {
		case has := <-sawDeadline:
			if has {
				t.Errorf("the int load runs with its caller's deadline")
			}
		default:
		}
		time.Sleep(2 * time.Second) // past the caller's deadline
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.DeadlineExceeded)
		default:
			t.Fatal("the int caller is still waiting 1 s past its deadline")
		}
	})
}

// TestGetOrSetOtherTypeLoadErrorIsNotTheJoiners: GetOrSet's doc: a caller
// that joins a load of another type "gets what it would have got had it
// come just after that load": the stored value read as a T, or the result
// of a load of T. A GetOrSet[int] that joined a failing GetOrSet[string]
// load returned the string load's error, and its own load never ran.
func TestGetOrSetOtherTypeLoadErrorIsNotTheJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		stringLoading(ctx, c, release, func() (string, error) {
			return "", errors.New("string loader: upstream 500")
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
		synctest.Wait() // joined the string load
		close(release)
		r := <-done
		require.NoError(t, r.err, "the int caller got the string load's error")
		require.Equal(t, 7, r.v)
	})
}
