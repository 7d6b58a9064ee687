package main

// storefront.go: GET /, the catalog as a browser sees it. A page of products
// rendered with html/template, behind the response cache like GET /products;
// in it, the category sidebar, cached on its own as a template fragment
// (Flask-Caching's {% cache %}), so that a page that is not cached yet
// still finds its sidebar rendered. Compression, conditional requests and
// Server-Timing come from the middleware every route has.

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/timing"
)

// Settings of the storefront.
const (
	// storefrontTTL is how long a page is cached, sidebarTTL its sidebar.
	// Both carry the tag "products": a write to a product makes them stale
	// at once (the sidebar counts the products of each category).
	storefrontTTL = 5 * time.Minute
	sidebarTTL    = 10 * time.Minute
	// storefrontPerPage is the number of products on a page.
	storefrontPerPage = 24
)

//go:embed storefront.html
var storefrontHTML string

// storefrontTemplates are the templates of storefront.html.
var storefrontTemplates = template.Must(template.New("storefront").Funcs(template.FuncMap{
	"price": func(p float64) string { return fmt.Sprintf("$%.2f", p) },
}).Parse(storefrontHTML))

// storefrontPage is what the template "page" shows.
type storefrontPage struct {
	Title      string
	Page       Page
	Sidebar    template.HTML // the fragment, rendered and cached on its own
	Prev, Next string        // the addresses of the pages around, if any
	Rendered   string
}

// sidebarData is what the template "sidebar" shows.
type sidebarData struct {
	Categories []Category
	Current    int64 // the category shown; 0: all of them
	Total      int
	Rendered   string
}

// storefrontRoutes registers GET / on mux, cached like GET /products and
// compressed inside the cache (with canonicalEncoding in front). The key holds only the query parameters the
// page reads, so ?utm_source=... shares the entry of the page without it
// (and cannot fill the cache with copies of it; the handler does not see
// it, as it is not in the key); ?page=1 is served as the
// page without it (defaultsLeftOut); the handler refuses the other
// spellings of those it reads and does not store a page past the last, as
// GET /products does.
func (a *api) storefrontRoutes(mux *http.ServeMux, cz *compress.Compressor) {
	mux.Handle("GET /{$}", defaultsLeftOut(url.Values{"page": {"1"}}, canonicalEncoding(cz, a.cache.Cached(storefrontTTL, a.viewOptions(
		caching.Tags("products"), caching.IgnoreHost(), caching.CacheStatusHeader("X-Cache"),
		caching.QueryString(caching.QueryKeyOptions{Allow: []string{"page", "category"}}),
	)...)(cz.Handler(http.HandlerFunc(a.storefront))))))
}

// GET /?page=N&category=ID
func (a *api) storefront(w http.ResponseWriter, r *http.Request) {
	page, category, err := storefrontParams(r)
	if err != nil {
		a.htmlError(w, r, http.StatusBadRequest, err)
		return
	}
	list, err := a.store.ListCategory(r.Context(), category, int(page), storefrontPerPage)
	if err != nil {
		a.htmlError(w, r, http.StatusInternalServerError, err)
		return
	}
	// Only after the category is known to exist: an unknown one gets no
	// fragment of its own.
	sidebar, err := a.sidebar(r.Context(), category)
	if err != nil {
		a.htmlError(w, r, http.StatusInternalServerError, err)
		return
	}
	data := storefrontPage{Title: "All products", Page: list, Sidebar: sidebar, Rendered: a.renderedAt()}
	switch {
	case category != 0 && len(list.Products) > 0:
		data.Title = list.Products[0].Category
	case category != 0:
		data.Title = "No products in this category"
	}
	link := func(page int) string {
		v := url.Values{}
		if category != 0 {
			v.Set("category", strconv.FormatInt(category, 10))
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	if list.HasPrev {
		data.Prev = link(min(list.Page-1, max(list.Pages, 1)))
	}
	if list.HasNext {
		data.Next = link(list.Page + 1)
	}
	status := http.StatusOK
	if pastLast(list) {
		// Still the page, with its way back to the last one, but a 404,
		// which the cache does not store (it would store one empty page per
		// number asked for).
		status, data.Title = http.StatusNotFound, "No such page"
	}
	a.writeHTML(w, r, status, "page", data)
}

// storefrontParams reads page and category, each in its one spelling (as
// listParams does): any other would be a copy of the page in the cache.
func storefrontParams(r *http.Request) (page, category int64, err error) {
	q, err := readQuery(r, "page", "category")
	if err != nil {
		return 0, 0, err
	}
	if page, err = queryInt(q, "page", 1, maxPage); err != nil {
		return 0, 0, err
	}
	category, err = queryInt(q, "category", 0, math.MaxInt64)
	return page, category, err
}

// sidebar returns the category sidebar with current highlighted, as a
// fragment cached once per category under FragmentKey("sidebar", current)
// (current is an int64: FragmentKey("sidebar", int64(3)) is the key to
// delete). Server-Timing tells whether it was rendered (sidebar;desc=miss).
// The render reads with the request's ctx: when this client goes away, the
// render fails, and the requests that joined it render it anew with their
// own (see caching.Fragment), rather than fail with this one's
// context.Canceled.
func (a *api) sidebar(ctx context.Context, current int64) (template.HTML, error) {
	key, err := caching.FragmentKey("sidebar", current)
	if err != nil {
		return "", err
	}
	span := timing.Start(ctx, "sidebar")
	var rendered atomic.Bool
	html, err := a.cache.Fragment(ctx, key, sidebarTTL, func(w io.Writer) error {
		rendered.Store(true)
		cats, err := a.store.Categories(ctx)
		if err != nil {
			return err
		}
		data := sidebarData{Categories: cats, Current: current, Rendered: a.renderedAt()}
		for _, c := range cats {
			data.Total += c.Products
		}
		return storefrontTemplates.ExecuteTemplate(w, "sidebar", data)
	}, caching.Tags("products"))
	desc := "hit"
	if rendered.Load() {
		desc = "miss"
	}
	span.StopDesc(desc)
	return html, err
}

// renderedAt is the time a page or a fragment is rendered, as it shows it.
func (a *api) renderedAt() string {
	return a.store.now().UTC().Format("15:04:05 UTC")
}

// writeHTML renders the template name with data and writes it with status.
// The page is rendered in full first, so that a template error is a clean
// 500 rather than half a page. A template error is a bug, and one that
// fails every render of its template (html/template keeps the error of
// escaping it): each request for the page would be a line at the rate
// clients send them, so it is logged through a failureLog (a.pages).
func (a *api) writeHTML(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := storefrontTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		a.pages.failed(r.Context(), err, "method", r.Method, "path", r.URL.Path, "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// htmlError answers err as an HTML page: a 404 for an unknown category,
// status with err's text for a 4xx, a 500 for anything else (a database
// error), logged (logFailure), whose text is not shown.
func (a *api) htmlError(w http.ResponseWriter, r *http.Request, status int, err error) {
	msg := err.Error()
	switch {
	case errors.Is(err, errUnknownCategory):
		status, msg = http.StatusNotFound, "There is no such category."
	case status >= 500:
		a.logFailure(r, err)
		msg = "Something went wrong on our side. Please try again."
	}
	a.writeHTML(w, r, status, "error", struct{ Title, Message string }{http.StatusText(status), msg})
}
