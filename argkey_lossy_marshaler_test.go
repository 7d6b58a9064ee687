package caching_test

import (
	"context"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/argkey"
)

// TestMemoizeLossyMarshalerArguments: a struct with unexported fields was
// keyed by its MarshalText, and two standard-library types have a lossy
// one: regexp.Regexp's leaves out POSIX (leftmost-longest) matching,
// big.Float's its precision. Different arguments shared one key, and a
// memoized function returned one call's result for the other. A big.Float
// is keyed by its GobEncode now, which keeps its precision and rounding
// mode; a regexp.Regexp is refused, when memoized and when passed as any.
func TestMemoizeLossyMarshalerArguments(t *testing.T) {
	ctx := context.Background()
	c, err := caching.New(&caching.Options{Backend: simple.Must(simple.Options{SweepInterval: -1}), KeyPrefix: "app:"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	t.Run("regexp", func(t *testing.T) {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, caching.ErrInvalidOption) || !strings.Contains(err.Error(), "pass the pattern") {
					t.Errorf("Memoize of a *regexp.Regexp argument: panic %v, want ErrInvalidOption telling to pass the pattern", err)
				}
			}()
			caching.Memoize(c, "find", func(_ context.Context, re *regexp.Regexp) (string, error) {
				return re.FindString("ab"), nil
			})
		}()
		find := caching.Memoize(c, "find-any", func(_ context.Context, re any) (string, error) {
			return re.(*regexp.Regexp).FindString("ab"), nil
		}, caching.TTL(time.Hour))
		if _, err := find.Get(ctx, regexp.MustCompilePOSIX("a|ab")); !errors.Is(err, argkey.ErrUnsupported) {
			t.Errorf("Get of a *regexp.Regexp passed as any: err = %v, want argkey.ErrUnsupported", err)
		}
	})

	t.Run("big.Float", func(t *testing.T) {
		sqrt := caching.Memoize(c, "sqrt", func(_ context.Context, x *big.Float) (string, error) {
			return new(big.Float).Sqrt(x).Text('g', 40), nil
		}, caching.TTL(time.Hour))
		low := new(big.Float).SetPrec(10).SetInt64(2)
		high := new(big.Float).SetPrec(200).SetInt64(2)
		if _, err := sqrt.Get(ctx, low); err != nil {
			t.Fatal(err)
		}
		got, err := sqrt.Get(ctx, high)
		if err != nil {
			t.Fatal(err)
		}
		if want := new(big.Float).Sqrt(high).Text('g', 40); got != want {
			t.Errorf("200-bit argument got %q (the 10-bit call's result), want %q", got, want)
		}
		again, err := sqrt.Get(ctx, new(big.Float).SetPrec(200).SetInt64(2))
		if err != nil || again != got {
			t.Errorf("an equal 200-bit argument got %q, %v; want the stored %q", again, err, got)
		}
	})
}
