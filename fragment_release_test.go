package caching

import (
	"bytes"
	"html/template"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFragmentFuncReleaseScope: a fragment's key holds no version of its
// template, so a release whose "sidebar" differs from the one before reads
// the fragment the release before stored on the shared backend and serves
// the old markup; scoped by release (FragmentFuncIn, as FragmentFunc's doc
// says), each release renders its own, and the older's stays its own.
func TestFragmentFuncReleaseScope(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		release := func(scope, sidebar string) *template.Template {
			p := template.New("page")
			fn := c.FragmentFunc(p, time.Minute)
			if scope != "" {
				fn = c.FragmentFuncIn(scope, p, time.Minute)
			}
			p.Funcs(template.FuncMap{"cache": fn})
			template.Must(p.Parse(`{{cache "sidebar" .}}`))
			template.Must(p.New("sidebar").Parse(sidebar))
			return p
		}
		render := func(p *template.Template) string {
			var b bytes.Buffer
			require.NoError(t, p.ExecuteTemplate(&b, "page", "x"))
			return b.String()
		}
		const old, cur = `<nav class="v1">x</nav>`, `<nav class="v2">x</nav>`

		assert.Equal(t, old, render(release("", `<nav class="v1">{{.}}</nav>`)))
		assert.Equal(t, old, render(release("", `<nav class="v2">{{.}}</nav>`)),
			"unscoped: the new release is served the old one's markup (documented)")

		v1, v2 := release("build-1", `<nav class="v1">{{.}}</nav>`), release("build-2", `<nav class="v2">{{.}}</nav>`)
		assert.Equal(t, old, render(v1))
		assert.Equal(t, cur, render(v2), "scoped by release: rendered from the new template")
		assert.Equal(t, old, render(v1), "the old release, still running, keeps its own")
	})
}
