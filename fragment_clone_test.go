package caching

import (
	"bytes"
	"html/template"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localized returns a base page whose "T" function translates nothing and
// whose "cache" function FragmentFunc made on it, with a "sidebar" that
// counts its renders in renders.
func localized(c *Cache, renders *atomic.Int64) *template.Template {
	base := template.New("page")
	base.Funcs(template.FuncMap{
		"cache":   c.FragmentFunc(base, time.Minute),
		"T":       func(s string) string { return s },
		"renders": func() int64 { return renders.Add(1) },
	})
	template.Must(base.Parse(`<h1>{{T "Title"}}</h1>{{cache "sidebar" .}}`))
	template.Must(base.New("sidebar").Parse(`<nav data-render="{{renders}}">{{T "Home"}}</nav>`))
	return base
}

func execute(t *testing.T, page *template.Template, data any) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, page.ExecuteTemplate(&b, "page", data))
	return b.String()
}

// TestFragmentFuncCloneAfterRender: a clone of the base page (a locale
// given a "T" of its own) rendered a fragment through the base's function,
// which executed the base: html/template then refused to clone it ("cannot
// Clone after it has executed") or parse into it, so the next locale or
// request could not be made. The function now renders from a clone of its
// own, and the base stays as it was. A clone that does not make a function
// of its own renders the base's definitions with the base's functions, the
// same fragment for every clone: never one clone's output served to
// another.
func TestFragmentFuncCloneAfterRender(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	base := localized(c, &renders)
	locale := func(words map[string]string) *template.Template {
		l, err := base.Clone()
		require.NoError(t, err, "the base is cloned after a clone rendered a fragment")
		l.Funcs(template.FuncMap{"T": func(s string) string { return words[s] }})
		return l
	}

	fr := locale(map[string]string{"Title": "Titre", "Home": "Accueil"})
	assert.Equal(t, `<h1>Titre</h1><nav data-render="1">Home</nav>`, execute(t, fr, nil))
	de := locale(map[string]string{"Title": "Titel", "Home": "Startseite"})
	assert.Equal(t, `<h1>Titel</h1><nav data-render="1">Home</nav>`, execute(t, de, nil),
		"the base's fragment, rendered once, with the base's T")
	_, err := base.New("footer").Parse(`<footer></footer>`)
	assert.NoError(t, err, "the base is parsed into after a clone rendered a fragment")
	assert.Equal(t, int64(1), renders.Load())
}

// TestFragmentFuncPerLocaleClones: the usual pattern of a base page cloned
// per locale (each with its own "T", and a function made on it, in a scope
// of its own) and each locale cloned per request. The locale's function
// executed the locale, which then could not be cloned for the next
// request. Each locale's fragment is rendered with its own T, once, and
// served to its own requests only.
func TestFragmentFuncPerLocaleClones(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	base := localized(c, &renders)
	locale := func(lang string, words map[string]string) *template.Template {
		l, err := base.Clone()
		require.NoError(t, err)
		l.Funcs(template.FuncMap{
			"T":     func(s string) string { return words[s] },
			"cache": c.FragmentFuncIn(lang, l, time.Minute),
		})
		return l
	}
	request := func(l *template.Template, user string) string {
		r, err := l.Clone()
		require.NoError(t, err, "the locale is cloned for a request after one rendered a fragment")
		r.Funcs(template.FuncMap{"user": func() string { return user }})
		return execute(t, r, nil)
	}

	fr := locale("fr", map[string]string{"Title": "Titre", "Home": "Accueil"})
	assert.Equal(t, `<h1>Titre</h1><nav data-render="1">Accueil</nav>`, request(fr, "alice"))
	de := locale("de", map[string]string{"Title": "Titel", "Home": "Startseite"})
	assert.Equal(t, `<h1>Titel</h1><nav data-render="2">Startseite</nav>`, request(de, "bob"),
		"a locale cloned from the base after another rendered: its own T, its own fragment")
	assert.Equal(t, `<h1>Titre</h1><nav data-render="1">Accueil</nav>`, request(fr, "carol"), "cached in its scope")
	assert.Equal(t, `<h1>Titel</h1><nav data-render="2">Startseite</nav>`, request(de, "dave"), "cached in its scope")
	assert.Equal(t, int64(2), renders.Load())

	for lang, want := range map[string]string{"fr": "Accueil", "de": "Startseite"} {
		key, err := FragmentKeyIn(lang, "sidebar")
		require.NoError(t, err)
		stored, err := c.Get(t.Context(), key)
		require.NoError(t, err)
		assert.Contains(t, string(stored), want)
	}
}

// TestFragmentFuncLaterDefinitions: a template parsed into t after the
// function's first render is rendered too (the function's own clone of t
// is taken again for it).
func TestFragmentFuncLaterDefinitions(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	base := localized(c, &renders)
	l, err := base.Clone()
	require.NoError(t, err)
	assert.Contains(t, execute(t, l, nil), `<nav data-render="1">Home</nav>`)

	template.Must(base.New("footer").Parse(`<footer>{{T "Contact"}}</footer>`))
	template.Must(base.Parse(`{{cache "sidebar" .}}{{cache "footer" .}}`))
	l, err = base.Clone()
	require.NoError(t, err)
	assert.Equal(t, `<nav data-render="1">Home</nav><footer>Contact</footer>`, execute(t, l, nil))
}

// TestFragmentFuncExecutedBase: a base executed itself (it can no longer be
// cloned, as html/template rules) renders its fragments as before.
func TestFragmentFuncExecutedBase(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	base := localized(c, &renders)
	assert.Equal(t, `<h1>Title</h1><nav data-render="1">Home</nav>`, execute(t, base, nil))
	fn := c.FragmentFunc(base, time.Minute)
	html, err := fn("sidebar", nil, "x")
	require.NoError(t, err)
	assert.Equal(t, template.HTML(`<nav data-render="2">Home</nav>`), html)
	_, err = fn("missing", nil, "x")
	assert.ErrorContains(t, err, `"missing" is undefined`)
}

// TestFragmentFuncClonesConcurrent: clones of one base rendering its
// fragments at once (the function's first render among them) each get the
// fragment, rendered once, and the base is still cloned afterwards.
func TestFragmentFuncClonesConcurrent(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var renders atomic.Int64
	base := localized(c, &renders)
	var wg sync.WaitGroup
	for range 8 {
		l, err := base.Clone()
		require.NoError(t, err)
		wg.Go(func() {
			var b bytes.Buffer
			assert.NoError(t, l.ExecuteTemplate(&b, "page", nil))
			assert.Equal(t, `<h1>Title</h1><nav data-render="1">Home</nav>`, b.String())
		})
	}
	wg.Wait()
	_, err := base.Clone()
	assert.NoError(t, err)
}
