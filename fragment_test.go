package caching

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestFragmentFunc: a fragment of a template is rendered once per value it
// varies on and served from the cache afterwards, for its TTL, on every
// store; FragmentKey names one for Delete, and its tags invalidate it.
func TestFragmentFunc(t *testing.T) {
	clock := testutil.NewClock()
	everyBackend(t, Options{Clock: clock.Now}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		var renders atomic.Int64
		page := template.New("page")
		page.Funcs(template.FuncMap{
			"cache":   c.FragmentFunc(page, time.Minute, Tags("categories")),
			"renders": func() int64 { return renders.Add(1) },
		})
		template.Must(page.Parse(`<main>{{.Title}}</main>{{cache "sidebar" .Categories .Lang}}`))
		template.Must(page.New("sidebar").Parse(`<ul data-render="{{renders}}">{{range .}}<li>{{.}}</li>{{end}}</ul>`))
		render := func(title, lang string, categories ...string) string {
			var b bytes.Buffer
			require.NoError(t, page.ExecuteTemplate(&b, "page", map[string]any{"Title": title, "Categories": categories, "Lang": lang}))
			return b.String()
		}

		first := render("A", "fr", "Lamps", "<Desks>")
		assert.Equal(t, `<main>A</main><ul data-render="1"><li>Lamps</li><li>&lt;Desks&gt;</li></ul>`, first,
			"escaped by the fragment's own template, not escaped again")
		assert.Equal(t, `<main>B</main><ul data-render="1"><li>Lamps</li><li>&lt;Desks&gt;</li></ul>`, render("B", "fr", "Chairs"),
			"served from the cache: the data is not looked at")
		assert.Contains(t, render("C", "de", "Chairs"), `data-render="2"`, "another value it varies on")
		assert.Equal(t, int64(2), renders.Load())

		key, err := FragmentKey("sidebar", "fr")
		require.NoError(t, err)
		stored, err := c.Get(ctx, key)
		require.NoError(t, err)
		assert.Contains(t, string(stored), `data-render="1"`, "a key of the direct API")
		n, err := c.DeleteMany(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Contains(t, render("D", "fr", "Chairs"), `<li>Chairs</li>`, "deleted: rendered again")
		assert.Contains(t, render("E", "de", "Sofas"), `<li>Chairs</li>`, "the other one is still there")

		require.NoError(t, c.InvalidateTags(ctx, "categories"))
		assert.Contains(t, render("F", "de", "Sofas"), `<li>Sofas</li>`, "invalidated by its tags")
		clock.Advance(2 * time.Minute)
		assert.Contains(t, render("G", "de", "Beds"), `<li>Beds</li>`, "expired")
	})
}

// TestFragment: the Go form keeps what render wrote; a render error is
// returned and nothing is stored; concurrent misses render once.
func TestFragment(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	boom := errors.New("boom")
	_, err := c.Fragment(ctx, "f", time.Minute, func(io.Writer) error { return boom })
	assert.ErrorIs(t, err, boom)
	html, err := c.Fragment(ctx, "f", time.Minute, func(w io.Writer) error {
		_, err := io.WriteString(w, "<b>ok</b>")
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, template.HTML("<b>ok</b>"), html)
	html, err = c.Fragment(ctx, "f", time.Minute, func(io.Writer) error { return boom })
	require.NoError(t, err, "a hit does not render")
	assert.Equal(t, template.HTML("<b>ok</b>"), html)
	_, err = c.Fragment(ctx, "g", -time.Second, func(io.Writer) error { return nil })
	assert.ErrorIs(t, err, ErrInvalidTTL)
	assert.Panics(t, func() { c.FragmentFunc(template.New("x"), -time.Second) })
	st := c.Stats()
	assert.Equal(t, int64(1), st.Hits)
	assert.Equal(t, int64(2), st.Misses)
}

// TestFragmentFailsOpen: with the backend down, the fragment is rendered
// and served, and the error counted.
func TestFragmentFailsOpen(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: -1}})
	defer c.Close()
	r.fail.Store(true)
	for i := range 2 {
		html, err := c.Fragment(t.Context(), "f", time.Minute, func(w io.Writer) error {
			_, err := fmt.Fprint(w, "render ", i)
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, template.HTML(fmt.Sprint("render ", i)), html)
	}
	assert.Positive(t, c.Stats().Errors)
}

// TestFragmentKey: the values a fragment varies on are told apart by type
// and value; a value that cannot be encoded is an error.
func TestFragmentKey(t *testing.T) {
	keys := map[string]bool{}
	for _, vary := range [][]any{nil, {7}, {"7"}, {int64(7)}, {7, "a"}, {"7a"}, {[]int{7}}} {
		k, err := FragmentKey("sidebar", vary...)
		require.NoError(t, err)
		assert.False(t, keys[k], "%v shares a key", vary)
		keys[k] = true
	}
	a, _ := FragmentKey("a/b")
	b, _ := FragmentKey("a", "b")
	assert.NotEqual(t, a, b)
	for _, sn := range [][2]string{{"admin", "sidebar"}, {"admin/sidebar", ""}, {"", "admin/sidebar"}, {"admin", "sidebar/x"}, {"admin/sidebar", "x"}} {
		k, err := FragmentKeyIn(sn[0], sn[1], "x")
		require.NoError(t, err)
		assert.False(t, keys[k], "scope %q and name %q share a key", sn[0], sn[1])
		keys[k] = true
	}
	_, err := FragmentKey("x", func() {})
	assert.Error(t, err)
	_, err = FragmentKey("x", make(chan int))
	assert.Error(t, err)
}

// twoSidebars returns two template sets, each defining its own "sidebar"
// (an admin page and a public page, the usual html/template layout of one
// set per page), whose "cache" functions are made by fn.
func twoSidebars(fn func(scope string, t *template.Template) any) (admin, public *template.Template) {
	mk := func(scope, sidebar string) *template.Template {
		p := template.New("page")
		p.Funcs(template.FuncMap{"cache": fn(scope, p)})
		template.Must(p.Parse(`{{cache "sidebar" .}}`))
		template.Must(p.New("sidebar").Parse(sidebar))
		return p
	}
	return mk("admin", `<a href="/admin/delete-all">admin tools for {{.}}</a>`), mk("public", `<a href="/">links for {{.}}</a>`)
}

// TestFragmentFuncInScopes: two template sets that each define a fragment
// "sidebar" used to share one fragment through FragmentFunc: the public
// page was served the admin page's sidebar. FragmentFuncIn keeps each
// set's fragments in a scope of their own, which FragmentKeyIn names.
func TestFragmentFuncInScopes(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	admin, public := twoSidebars(func(scope string, t *template.Template) any { return c.FragmentFuncIn(scope, t, time.Minute) })
	render := func(page *template.Template, data string) string {
		var b bytes.Buffer
		require.NoError(t, page.ExecuteTemplate(&b, "page", data))
		return b.String()
	}
	assert.Equal(t, `<a href="/admin/delete-all">admin tools for root</a>`, render(admin, "root"))
	assert.Equal(t, `<a href="/">links for anon</a>`, render(public, "anon"), "the public page got the admin page's fragment")
	assert.Equal(t, `<a href="/">links for anon</a>`, render(public, "bob"), "cached in its scope")

	key, err := FragmentKeyIn("admin", "sidebar")
	require.NoError(t, err)
	require.NoError(t, c.Delete(ctx, key))
	assert.Equal(t, `<a href="/admin/delete-all">admin tools for alice</a>`, render(admin, "alice"), "deleted by FragmentKeyIn")
	assert.Equal(t, `<a href="/">links for anon</a>`, render(public, "carol"), "the other scope's fragment stays")
}

// TestFragmentFuncOneNamespace: FragmentFunc's names are one namespace per
// Cache, as Flask-Caching's are: a fragment that several template sets
// share (a layout parsed into every page) is rendered once for all, and
// FragmentKey, which is FragmentKeyIn with no scope, names it.
func TestFragmentFuncOneNamespace(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	page := func(body string) *template.Template {
		p := template.New("page")
		p.Funcs(template.FuncMap{"cache": c.FragmentFunc(p, time.Minute), "renders": func() int64 { return renders.Add(1) }})
		template.Must(p.Parse(body + `{{cache "sidebar" . 7}}`))
		template.Must(p.New("sidebar").Parse(`<nav data-render="{{renders}}"></nav>`)) // the shared layout
		return p
	}
	for _, p := range []*template.Template{page("<h1>home</h1>"), page("<h1>about</h1>")} {
		var b bytes.Buffer
		require.NoError(t, p.ExecuteTemplate(&b, "page", nil))
		assert.Contains(t, b.String(), `<nav data-render="1"></nav>`)
	}
	key, err := FragmentKey("sidebar", 7)
	require.NoError(t, err)
	scoped, err := FragmentKeyIn("", "sidebar", 7)
	require.NoError(t, err)
	assert.Equal(t, key, scoped)
	_, err = c.Get(t.Context(), key)
	assert.NoError(t, err, "FragmentKey names the shared fragment")
}
