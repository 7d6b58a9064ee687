package caching_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/argkey"
)

// depthExpr is a parsed expression, as a parser of a client's query builds
// it: its nodes are values held in an interface, not pointers.
type depthExpr interface{}

type depthNot struct{ X depthExpr }

// TestMemoizeInterfaceNestingIsAnError: the encoder bounded nesting through
// pointers, maps and slices only, so "!!!…!x" of a ~1.5 MB request, parsed
// into depthNot values nested by value through an interface, overflowed the
// goroutine stack in the key's encoding, which kills the process (recover
// cannot catch it). Every level counts now, and Get, Key, Forget and
// FragmentKey return an error wrapping argkey.ErrUnsupported. The work runs
// in a child process, so that a crash fails this test rather than killing
// the test binary.
func TestMemoizeInterfaceNestingIsAnError(t *testing.T) {
	if os.Getenv("ARGKEY_IFACE_DEPTH_CHILD") == "1" {
		c, err := caching.New(&caching.Options{Backend: simple.Must(simple.Options{SweepInterval: -1}), KeyPrefix: "app:"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		calls := 0
		eval := caching.Memoize(c, "eval", func(_ context.Context, e depthExpr) (bool, error) { calls++; return true, nil })
		var e depthExpr = "x"
		for range 1_500_000 {
			e = depthNot{e}
		}
		ctx := context.Background()
		check := func(what string, err error) {
			if !errors.Is(err, argkey.ErrUnsupported) || !strings.Contains(err.Error(), "nested deeper than") {
				t.Errorf("%s: err = %v, want one wrapping argkey.ErrUnsupported that says how deep", what, err)
			}
		}
		_, err = eval.Get(ctx, e)
		check("Get", err)
		_, err = eval.Key(e)
		check("Key", err)
		check("Forget", eval.Forget(ctx, e))
		_, err = caching.FragmentKey("expr", e)
		check("FragmentKey", err)
		if calls != 0 {
			t.Errorf("fn ran %d times for an argument that cannot be keyed", calls)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoizeInterfaceNestingIsAnError$", "-test.v")
	cmd.Env = append(os.Environ(), "ARGKEY_IFACE_DEPTH_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		s := string(out)
		if i := strings.Index(s, "fatal error"); i >= 0 {
			s = s[i:min(len(s), i+60)]
		} else if len(s) > 1000 {
			s = s[:1000]
		}
		t.Errorf("child process: %v: %s", err, strings.ReplaceAll(s, "\n", " | "))
	}
}
