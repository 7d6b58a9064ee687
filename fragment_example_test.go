package caching_test

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-caching/caching"
)

// A part of a page that is costly to render (a sidebar built from a
// database) is cached as a fragment, inside the template, while the rest
// of the page is rendered every time (Flask-Caching's {% cache %}).
func ExampleCache_FragmentFunc() {
	c := caching.Must(nil)
	defer c.Close()

	renders := 0
	page := template.New("page")
	page.Funcs(template.FuncMap{
		"cache": c.FragmentFunc(page, 5*time.Minute, caching.Tags("categories")),
		"count": func() int { renders++; return renders },
	})
	template.Must(page.Parse(`<h1>{{.Title}}</h1>{{cache "sidebar" .Categories .Lang}}` + "\n"))
	template.Must(page.New("sidebar").Parse(
		`<nav data-render="{{count}}">{{range .}}<a>{{.}}</a>{{end}}</nav>`))

	for _, title := range []string{"Lamps", "Desks"} {
		data := map[string]any{"Title": title, "Lang": "en", "Categories": []string{"Lamps", "Desks & tables"}}
		if err := page.Execute(os.Stdout, data); err != nil {
			fmt.Println(err)
		}
	}

	// One fragment is deleted by its key, made from the same name and values.
	key, _ := caching.FragmentKey("sidebar", "en")
	_ = c.Delete(context.Background(), key)
	_ = page.Execute(os.Stdout, map[string]any{"Title": "Chairs", "Lang": "en", "Categories": []string{"Chairs"}})
	// Output:
	// <h1>Lamps</h1><nav data-render="1"><a>Lamps</a><a>Desks &amp; tables</a></nav>
	// <h1>Desks</h1><nav data-render="1"><a>Lamps</a><a>Desks &amp; tables</a></nav>
	// <h1>Chairs</h1><nav data-render="2"><a>Chairs</a></nav>
}

// Two template sets (one per page, the usual html/template layout) that
// each define their own "sidebar" keep their fragments apart with a scope
// each: with FragmentFunc, whichever page rendered "sidebar" first would
// fill it for both. The admin sidebar shows the signed-in user, so it
// varies on the user ({{cache "sidebar" . .}}: the data, then the values
// the fragment varies on), or bob would be served alice's; the public one
// is the same for everyone.
func ExampleCache_FragmentFuncIn() {
	c := caching.Must(nil)
	defer c.Close()
	page := func(scope, layout, sidebar string) *template.Template {
		p := template.New("page")
		p.Funcs(template.FuncMap{"cache": c.FragmentFuncIn(scope, p, 5*time.Minute)})
		template.Must(p.Parse(layout + "\n"))
		template.Must(p.New("sidebar").Parse(sidebar))
		return p
	}
	admin := page("admin", `{{cache "sidebar" . .}}`, `<nav>admin tools for {{.}}</nav>`)
	public := page("public", `{{cache "sidebar" .}}`, `<nav>links</nav>`)
	_ = admin.Execute(os.Stdout, "alice")
	_ = admin.Execute(os.Stdout, "bob")
	_ = public.Execute(os.Stdout, "bob")

	// Alice's admin fragment is named by its scope, its name and the
	// value it varies on: read, then deleted, by that key.
	key, _ := caching.FragmentKeyIn("admin", "sidebar", "alice")
	html, _ := c.Get(context.Background(), key)
	fmt.Printf("%s\n", html)
	_ = c.Delete(context.Background(), key)
	// Output:
	// <nav>admin tools for alice</nav>
	// <nav>admin tools for bob</nav>
	// <nav>links</nav>
	// <nav>admin tools for alice</nav>
}

// A base page cloned per locale, each clone with its own "T" and a
// fragment function made on it in a scope of its own, and each locale
// cloned again per request: each locale's sidebar is rendered once, with
// its own T, and served to its own requests only. A clone that kept the
// base's function would render the base's sidebar with the base's T.
func ExampleCache_FragmentFuncIn_locales() {
	c := caching.Must(nil)
	defer c.Close()
	base := template.New("page")
	base.Funcs(template.FuncMap{
		"cache": c.FragmentFunc(base, 5*time.Minute),
		"T":     func(s string) string { return s },
		"user":  func() string { return "" },
	})
	template.Must(base.Parse(`{{user}}: {{cache "sidebar" .}}` + "\n"))
	template.Must(base.New("sidebar").Parse(`<nav>{{T "Home"}}</nav>`))

	locales := map[string]*template.Template{}
	for lang, home := range map[string]string{"fr": "Accueil", "de": "Startseite"} {
		l := template.Must(base.Clone())
		l.Funcs(template.FuncMap{
			"T":     func(string) string { return home },
			"cache": c.FragmentFuncIn(lang, l, 5*time.Minute),
		})
		locales[lang] = l
	}
	for _, r := range []struct{ user, lang string }{{"alice", "fr"}, {"bob", "de"}, {"carol", "fr"}} {
		page := template.Must(locales[r.lang].Clone()) // per request
		page.Funcs(template.FuncMap{"user": func() string { return r.user }})
		_ = page.Execute(os.Stdout, nil)
	}
	// Output:
	// alice: <nav>Accueil</nav>
	// bob: <nav>Startseite</nav>
	// carol: <nav>Accueil</nav>
}

// In a handler, Fragment caches what a render function writes: here the
// rendering of one template of a set, keyed by the user's language.
func ExampleCache_Fragment() {
	c := caching.Must(nil)
	defer c.Close()
	tmpl := template.Must(template.New("footer").Parse(`<footer>{{.}}</footer>`))

	for range 2 {
		key, _ := caching.FragmentKey("footer", "fr")
		html, err := c.Fragment(context.Background(), key, time.Hour, func(w io.Writer) error {
			fmt.Println("rendering")
			return tmpl.Execute(w, strings.ToUpper("tous droits réservés"))
		})
		fmt.Println(html, err)
	}
	// Output:
	// rendering
	// <footer>TOUS DROITS RÉSERVÉS</footer> <nil>
	// <footer>TOUS DROITS RÉSERVÉS</footer> <nil>
}
