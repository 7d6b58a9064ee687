package caching_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-caching/caching"
)

// Closures memoized in a loop under one name share their entries: the
// second tenant gets the first tenant's result. The Cache cannot tell them
// apart in its keys (other processes must find the same entries), so it says
// so in its log, once per name.
func TestMemoizeNameReusedByAnotherFunctionIsLogged(t *testing.T) {
	var logs bytes.Buffer
	c := newCache(t, nil, func(o *caching.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx := context.Background()
	var got []string
	for _, tenant := range []string{"acme", "globex", "initech"} {
		f := caching.Memoize(c, "account", func(_ context.Context, id int) (string, error) {
			return tenant + "-account", nil
		})
		v, err := f.Get(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	// The sharing itself is the documented behaviour.
	if got[1] != "acme-account" {
		t.Fatalf("second closure got %q; the entries are shared by name, want the first's", got[1])
	}
	out := logs.String()
	if n := strings.Count(out, "registered again"); n != 1 {
		t.Fatalf("%d warnings; want one for the name, once:\n%s", n, out)
	}
	if !strings.Contains(out, `name=account`) {
		t.Fatalf("the warning does not name the function:\n%s", out)
	}
}

// The same function registered twice (a static function, or one closure
// value) is not a mistake worth a warning: the entries it shares are its own.
func TestMemoizeNameReusedBySameFunctionIsQuiet(t *testing.T) {
	var logs bytes.Buffer
	c := newCache(t, nil, func(o *caching.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	fn := func(_ context.Context, id int) (int, error) { return id * 2, nil }
	caching.Memoize(c, "double", fn)
	caching.Memoize(c, "double", fn)
	caching.Memoize(c, "double", fn, caching.TTL(1))
	caching.MemoizeValue(c, "one", staticOne)
	caching.MemoizeValue(c, "one", staticOne)
	if strings.Contains(logs.String(), "registered again") {
		t.Fatalf("warned about one function registered twice:\n%s", logs.String())
	}
	// MemoizeValue wraps its function: two different ones are still told apart.
	caching.MemoizeValue(c, "one", func(context.Context) (int, error) { return 2, nil })
	if !strings.Contains(logs.String(), "registered again") {
		t.Fatalf("no warning for a second function under MemoizeValue's name:\n%s", logs.String())
	}
}

func staticOne(context.Context) (int, error) { return 1, nil }
