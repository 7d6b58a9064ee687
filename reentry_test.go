package caching

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

type reentryNode struct {
	Name     string
	Children []reentryNode
}

// A recursive template whose fragment renders the same fragment (the
// varyOn that tells the levels apart forgotten) renders as it does without
// the cache, where it hung: the inner call joined the outer render that
// waited for it, and every later request joined them.
func TestFragmentFuncRecursiveTemplateRendersAsUncached(t *testing.T) {
	const page = `{{define "tree"}}<ul>{{range .}}<li>{{.Name}}{{cache "tree" .Children}}</li>{{end}}</ul>{{end}}{{cache "tree" .}}`
	tree := []reentryNode{{Name: "a", Children: []reentryNode{{Name: "b", Children: []reentryNode{{Name: "c"}}}}}, {Name: "d"}}

	plain := template.New("page")
	plain.Funcs(template.FuncMap{"cache": func(name string, data any) (template.HTML, error) {
		var b strings.Builder
		err := plain.ExecuteTemplate(&b, name, data)
		return template.HTML(b.String()), err
	}})
	template.Must(plain.Parse(page))
	var want strings.Builder
	require.NoError(t, plain.Execute(&want, tree))

	c := newReentryCache(t)
	tmpl := template.New("page")
	tmpl.Funcs(template.FuncMap{"cache": c.FragmentFunc(tmpl, time.Minute)})
	template.Must(tmpl.Parse(page))
	for i := range 2 { // the render, then a hit
		var got strings.Builder
		testutil.Returns(t, fmt.Sprintf("request %d", i), 5*time.Second, func() { require.NoError(t, tmpl.Execute(&got, tree)) })
		require.Equal(t, want.String(), got.String(), "request %d", i)
	}
}

// A Fragment whose render asks for its own key (to a depth) returns, and
// a later caller of the key is not held by it.
func TestFragmentRenderOfItsOwnKeyReturns(t *testing.T) {
	c := newReentryCache(t)
	key, err := FragmentKey("tree")
	require.NoError(t, err)
	ctx := context.Background()
	var depth atomic.Int32
	var render func(w io.Writer) error
	render = func(w io.Writer) error {
		if depth.Add(1) < 4 {
			inner, err := c.Fragment(ctx, key, time.Minute, render)
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, "<b>"+string(inner)+"</b>")
			return err
		}
		_, err := io.WriteString(w, "leaf")
		return err
	}
	var html template.HTML
	testutil.Returns(t, "the render", 5*time.Second, func() {
		html, err = c.Fragment(ctx, key, time.Minute, render)
		require.NoError(t, err)
	})
	require.Equal(t, template.HTML("<b><b><b>leaf</b></b></b>"), html)
	testutil.Returns(t, "a later call", 5*time.Second, func() {
		html, err = c.Fragment(ctx, key, time.Minute, func(w io.Writer) error { return nil })
		require.NoError(t, err)
	})
	require.Equal(t, template.HTML("<b><b><b>leaf</b></b></b>"), html, "the outer render is the one stored")
}

// A GetOrSet load that asks for its own key with its context returns.
func TestGetOrSetLoadOfItsOwnKeyReturns(t *testing.T) {
	c := newReentryCache(t)
	var depth atomic.Int32
	var load func(ctx context.Context) (int, error)
	load = func(ctx context.Context) (int, error) {
		if d := depth.Add(1); d < 3 {
			n, err := GetOrSet(ctx, c, "k", time.Minute, load)
			return n + 1, err
		}
		return 1, nil
	}
	var n int
	var err error
	testutil.Returns(t, "GetOrSet", 5*time.Second, func() { n, err = GetOrSet(context.Background(), c, "k", time.Minute, load) })
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

// A memoized function that asks for its own key with its context returns.
func TestMemoizeFnAskingForItsOwnKeyReturns(t *testing.T) {
	c := newReentryCache(t)
	var depth atomic.Int32
	var m *Memoized[string, int]
	m = Memoize(c, "self", func(ctx context.Context, a string) (int, error) {
		if depth.Add(1) < 3 {
			n, err := m.Get(ctx, a)
			return n + 1, err
		}
		return 1, nil
	})
	var n int
	var err error
	testutil.Returns(t, "Get", 5*time.Second, func() { n, err = m.Get(context.Background(), "a") })
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

// Memoized functions called from within other computations still share
// their computations: the outer computations of eight arguments, running
// at once, ask for one inner result, computed once.
func TestNestedMemoizeStillSharesItsComputation(t *testing.T) {
	c := newReentryCache(t)
	var calls atomic.Int32
	release := make(chan struct{})
	inner := Memoize(c, "inner", func(ctx context.Context, _ struct{}) (int, error) {
		calls.Add(1)
		<-release
		return 7, nil
	})
	var started sync.WaitGroup
	outer := Memoize(c, "outer", func(ctx context.Context, a int) (int, error) {
		started.Done()
		n, err := inner.Get(ctx, struct{}{})
		return n + a, err
	})
	var wg sync.WaitGroup
	started.Add(8)
	for a := range 8 {
		wg.Go(func() {
			n, err := outer.Get(context.Background(), a)
			if err != nil || n != 7+a {
				t.Errorf("outer(%d) = %d, %v", a, n, err)
			}
		})
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // the inner calls join the first
	close(release)
	wg.Wait()
	require.Equal(t, int32(1), calls.Load(), "the inner function ran more than once")
}

func newReentryCache(t *testing.T) *Cache {
	t.Helper()
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
