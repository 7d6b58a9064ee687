package caching

import (
	"context"
	"html/template"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// README: "A fragment asked for from within a render of its own key (a
// recursive template ...) is rendered inline, as without a cache, and not
// stored: it does not wait for the render it is part of." A render that
// builds part of its output through a cached helper (GetOrSet), whose load
// renders the same fragment for the next level, still waits for itself:
// the load runs on the flight's goroutine, where no render frame is.
func TestFragmentRenderThroughGetOrSetOfItsOwnKeyReturns(t *testing.T) {
	c := newReentryCache(t)
	key, err := FragmentKey("tree")
	require.NoError(t, err)
	ctx := context.Background()
	var renderFor func(level int) func(w io.Writer) error
	renderFor = func(level int) func(w io.Writer) error {
		return func(w io.Writer) error {
			if level == 2 {
				_, err := io.WriteString(w, "leaf")
				return err
			}
			children, err := GetOrSet(ctx, c, "children-of-root", time.Minute, func(ctx context.Context) (string, error) {
				inner, err := c.Fragment(ctx, key, time.Minute, renderFor(level+1))
				return string(inner), err
			})
			if err != nil {
				return err
			}
			_, err = io.WriteString(w, "root("+children+")")
			return err
		}
	}
	var html template.HTML
	testutil.Returns(t, "Fragment", 5*time.Second, func() { html, err = c.Fragment(ctx, key, time.Minute, renderFor(1)) })
	require.NoError(t, err)
	require.Equal(t, template.HTML("root(leaf)"), html)
}
