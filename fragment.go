package caching

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/argkey"
)

// Template fragment caching (Flask-Caching's {% cache %} and
// make_template_fragment_key): the rendered output of a part of an
// html/template page, kept under a key of the direct API made from the
// fragment's name and the values it varies on, so that the direct API
// reads and deletes it (Cache.Delete(ctx, key)).

// FragmentKey returns the key of the direct API under which Fragment and
// FragmentFunc keep the fragment name rendered for the values varyOn
// (Flask-Caching's make_template_fragment_key): "fragment/", the escaped
// name, "/", and a deterministic encoding of varyOn (each value by its
// dynamic type and value, as Memoize encodes an argument; see KeyFunc), so
// that FragmentKey("sidebar", 7) and FragmentKey("sidebar", "7") differ, and
// a value given as an int in a template must be given as an int here too.
// A key longer than 200 bytes (a fragment that varies on a long search
// query) is shortened to a readable head, "#" and the SHA-256 of the whole
// key, so that what a client sends cannot make a key of its size.
// It fails only for values that cannot be encoded (funcs, channels, cycles,
// structs with unexported fields and no CacheKey method, values nested or
// shared too deeply; see KeyFunc). Delete a fragment
// with c.Delete(ctx, key). The fragments of FragmentFuncIn are named by
// FragmentKeyIn.
func FragmentKey(name string, varyOn ...any) (string, error) {
	return FragmentKeyIn("", name, varyOn...)
}

// FragmentKeyIn returns the key of the direct API under which the
// functions of FragmentFuncIn(scope, ...) keep the fragment name rendered
// for the values varyOn: FragmentKey's, with the escaped scope after
// "fragment/", so that it differs from the key of any name in any other
// scope, and from every key of FragmentKey. An empty scope is FragmentKey's
// (FragmentFunc's) namespace: FragmentKeyIn("", name, varyOn...) is
// FragmentKey(name, varyOn...).
func FragmentKeyIn(scope, name string, varyOn ...any) (string, error) {
	var scratch [64]byte
	enc, err := argkey.AppendOf(scratch[:0], varyOn)
	if err != nil {
		return "", fmt.Errorf("caching: fragment %q: key: %w", name, err)
	}
	key := "fragment/"
	if scope != "" {
		key += url.PathEscape(scope) + "/" // escaped: "/" is the separator
	}
	// Shortened when long, as the keys of tags and memoized calls are:
	// varyOn often holds what a client sent (a query), which must not make
	// a key of its size, sent with every read and kept with the fragment.
	// No key kept as it is holds a '#' (escaped names, base64), which every
	// shortened one does.
	return shortenKey(key + url.PathEscape(name) + "/" + base64.RawURLEncoding.EncodeToString(enc)), nil
}

// Fragment returns the fragment stored under key (a key of the direct API,
// usually made by FragmentKey), or calls render, stores what it wrote for
// ttl (0: the Cache's DefaultTTL; Forever; negative: an error wrapping
// ErrInvalidTTL) under the tags of opts, and returns it. Concurrent calls
// for one key on this Cache call render once; a call made after an
// invalidation (InvalidateTags, InvalidatePath) returned never gets a
// render that began before it.
//
// A write or delete of key through this Cache (c.Delete(ctx, key), as
// FragmentKey's doc says to clear a fragment; Set, Clear and the other
// writes of the direct API) supersedes a render of key in flight: a render
// that began before the write returned is not stored over it, and a call
// made after the write returned renders anew rather than get it (the calls
// already waiting for it still do). This holds within this Cache (this
// process): a render running in another process may still be stored after
// the delete; where that matters, write fragments under Tags and
// invalidate the tag, which reaches every process.
//
// render writes HTML that is safe as it is, such as the output of an
// html/template (tmpl.ExecuteTemplate(w, "sidebar", data)): the result is a
// template.HTML, inserted unescaped where a page places it (in HTML text;
// not in an attribute or a script). Anyone who can write to the backend can
// therefore write into the page.
//
// render takes no context: in a handler it usually reads with the
// request's (a query bounded by ctx), so it fails with context.Canceled
// when that client goes away. The call of that client returns ctx.Err() at
// once, and its render, which concurrent calls for key may have joined,
// runs on without it, stores nothing if it fails, and would hand its
// error to the joined calls. Nor does it store, or hand to them, what it
// returns without an error once ctx has ended: a fallback it may have
// written for a read the leaving cancelled (an empty list) is handled as
// ctx's error, as a view never stores a response made after its
// request's context ended. A joined call whose own ctx is alive does not
// take a context's error (context.Canceled, context.DeadlineExceeded) from
// a render it joined: it starts a render anew, with its own ctx, which the
// calls still waiting share (after a few such renders, it renders alone).
// So a render may read with its caller's ctx; one whose work must be
// stored even when its client leaves reads with
// context.WithoutCancel(ctx), bounded by a timeout of its own. A render
// that fails with a context's error of its own (such a timeout) may so be
// run again, a few times at most, by the calls that joined it.
//
// A call made from within a render (on its goroutine: a template's nested
// {{cache}}) does not join a render of its key in flight, which may be the
// one it is made from (a recursive template whose fragment renders itself,
// the value that tells the levels apart left out of the key): it renders
// inline, as without a cache, and stores nothing. Joined, it waited for
// itself, and every later call of the key with it.
//
// Like Memoize, Fragment fails open: when the backend fails or is slower
// than Options.Timeout, render's output is returned (and the error counted
// and logged). render's error is returned, and nothing is stored. Reads are
// counted in Stats as the direct API's are.
func (c *Cache) Fragment(ctx context.Context, key string, ttl time.Duration, render func(w io.Writer) error, opts ...SetOption) (template.HTML, error) {
	ttl, err := c.resolveTTL(ttl)
	if err != nil {
		return "", err
	}
	bk := c.userKey(key)
	html, _, ok, down := c.loadFragment(ctx, bk)
	if ok {
		c.record(outHit)
		return html, nil
	}
	caller := ctx // the context render usually reads with
	work := func(ctx context.Context) (template.HTML, flightOut, error) {
		l := c.inFlight.begin(bk) // before anything is read
		defer c.inFlight.end(bk, l)
		if down || computedInline(ctx, &c.fragments, bk) {
			// The read just failed: render, and ask nothing more of that
			// backend (no versions read, no store). Or asked for from
			// within its own render: rendered, not stored (reentry.go).
			var buf bytes.Buffer
			err := renderFor(caller, render, &buf)
			return template.HTML(buf.String()), flightOut{}, err
		}
		if html, vs, ok, _ := c.loadFragment(ctx, bk); ok {
			return html, flightOut{vs: vs}, nil // stored while this call waited: checked by the callers that joined
		}
		var cfg setConfig
		for _, o := range opts {
			o.applySet(&cfg)
		}
		opCtx, cancel := c.store.bound(ctx)
		vs, verr := c.store.versions(opCtx, c.tagKeys(cfg.tags), ttl)
		cancel()
		if verr != nil {
			c.failOpen("fragment tag versions", verr)
			vs = versionSet{} // not read: nothing for the joiners to check
		}
		var buf bytes.Buffer
		if err := renderFor(caller, render, &buf); err != nil {
			return "", flightOut{}, err
		}
		html := buf.String()
		if verr == nil {
			e := newEntry(c.now(), ttl, 0)
			switch {
			case c.store.local != nil && html == "":
				// Not html's bytes: those of "" are a nil slice, and an
				// in-process entry with a nil payload holds a value
				// (nil), which reads back as the Codec's "null".
				e.Payload = []byte{}
			case c.store.local != nil:
				// The stored bytes are html's own: immutable, as a
				// hit's string made from them (see htmlOf) needs.
				e.Payload = unsafe.Slice(unsafe.StringData(html), len(html))
			default:
				c.store.setBytes(e, buf.Bytes()) // buf is not written again
			}
			opCtx, cancel := c.store.bound(ctx)
			defer cancel()
			// The evictions are told once l's lock is released, as
			// GetOrSet's.
			notifyAfter(func(evicted *simple.Evictions) {
				if err := l.store(func() error { return c.store.saveDeferred(opCtx, bk, e, vs, evicted) }); err != nil {
					c.failOpen("fragment set", err)
				}
			})
		}
		return template.HTML(html), flightOut{vs: vs}, nil
	}
	html, joined, err := c.shareRender(ctx, bk, work)
	if joined && err == nil {
		c.record(outHit)
	} else {
		c.record(outMiss)
	}
	return html, err
}

// renderFor runs render into buf for the caller whose context is ctx,
// returning its error, or ctx's when ctx ended before render returned: the
// client of the request render reads with left (or its deadline passed),
// and a render that answers a read that failed for it with a fallback
// (an empty list) and no error must not have it stored, nor handed to the
// calls that joined it, as a view never stores a response made after its
// request's context ended. Those calls, their contexts alive, render anew
// (see shareRender).
func renderFor(ctx context.Context, render func(io.Writer) error, buf *bytes.Buffer) error {
	if err := render(buf); err != nil {
		return err
	}
	return ctx.Err()
}

// shareRender runs work, the render of the fragment under bk, once for its
// concurrent callers (doSince). A render usually reads with the context of
// the request of the caller that started it (captured: render takes none),
// so it fails with that context's error when that client goes away: a
// caller that joined it, and whose own context is alive, does not take
// that error for its own, but joins, or starts, a render anew (one of the
// callers that were waiting leads it, and the others join it), up to
// maxRejoins times, and then renders on its own.
func (c *Cache) shareRender(ctx context.Context, bk string, work func(context.Context) (template.HTML, flightOut, error)) (template.HTML, bool, error) {
	for range maxRejoins {
		html, joined, err := doSince(ctx, &c.store, &c.fragments, bk, work, nil, true)
		if !joined || !leaderLeft(ctx, err) {
			return html, joined, err
		}
	}
	res, err := c.fragments.DoAlone(ctx, func(ctx context.Context) (epoched[template.HTML], error) {
		return computeAlone(ctx, work)
	})
	return res.v, false, err
}

// leaderLeft reports whether err, the error of a render that a caller
// whose context is ctx joined, is a context's error (canceled, or past its
// deadline) while ctx is alive: most likely that of the request of the
// caller that started the render, who left.
func leaderLeft(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// loadFragment reads the fragment under bk, failing open: down reports a
// read that failed (not a miss); vs are the versions it was written under.
func (c *Cache) loadFragment(ctx context.Context, bk string) (html template.HTML, vs versionSet, ok, down bool) {
	e, integer, err := c.store.lookupDirectBounded(ctx, bk)
	switch {
	case err == nil && integer != nil:
		return template.HTML(integer), versionSet{}, true, false
	case err == nil && c.store.fresh(e, time.Time{}):
		if b, err := c.entryBytes(e); err == nil {
			if c.store.local == nil && c.store.near == nil {
				return template.HTML(b), e.versions(), true, false // a backend's slice: copied
			}
			return htmlOf(b), e.versions(), true, false
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		if !callerEnded(ctx, err) {
			c.failOpen("fragment get", err)
		} // else the caller left: not the backend's error (see store.report)
		return "", versionSet{}, false, true
	}
	return "", versionSet{}, false, false
}

// htmlOf returns the bytes of an entry kept in process memory (an
// in-process store's, or a near cache's, shared by its readers) as HTML
// without copying them: the Cache never writes to a stored payload, and
// Get's callers must not (see Get), so the string stays immutable as Go
// requires. A remote backend's slice is copied instead: the Backend
// contract does not promise that it is never written to again.
func htmlOf(b []byte) template.HTML {
	if len(b) == 0 {
		return ""
	}
	return template.HTML(unsafe.String(unsafe.SliceData(b), len(b)))
}

// FragmentFunc returns a template function that renders the template name
// of t with data, caches its output as Fragment does, for ttl and under the
// tags of opts, keyed by FragmentKey(name, varyOn...), and returns it as
// template.HTML. Add it to t before parsing, under a name of your choice:
//
//	t := template.New("page")
//	t.Funcs(template.FuncMap{"cache": c.FragmentFunc(t, 5*time.Minute, caching.Tags("categories"))})
//	template.Must(t.Parse(`... {{cache "sidebar" .Categories .Lang}} ...`))
//
// {{cache "sidebar" .Categories .Lang}} renders {{template "sidebar"
// .Categories}} once per value of .Lang (the values after the data are
// what the fragment varies on; none: one fragment for everyone), and the
// key of one of them, to delete it, is FragmentKey("sidebar", lang). The
// data is not part of the key: a fragment that shows what differs between
// the pages that render it (the signed-in user) varies on it, as in
// {{cache "greeting" .User .User}}, or every page is served the first
// one's. Use several functions (under several names) for several TTLs.
// Template functions have no context: backend calls are bounded by
// Options.Timeout alone. FragmentFunc panics on a negative ttl, like Cached.
// The function is safe for concurrent use, as t's execution is.
//
// The function renders from t, the template it was made on, whichever
// template calls it: a template function is not told which template is
// executing it. A clone of t (t.Clone(): a locale or a request given
// functions of its own, such as a "T" that translates) that calls it
// renders t's definitions with t's functions: one fragment for every such
// clone, under one key. For a clone's functions to be used, make the
// function on the clone, in a scope of its own (or vary its fragments on
// what tells the clones apart):
//
//	fr, _ := base.Clone()
//	fr.Funcs(template.FuncMap{"T": frT, "cache": c.FragmentFuncIn("fr", fr, ttl)})
//
// Clones whose functions share a scope (FragmentFunc's is one namespace)
// share their fragments, and one locale is served another's.
//
// The function executes a clone of t of its own, taken at its first
// render, and never t, so t can still be cloned and parsed into after a
// clone of it rendered a fragment (html/template refuses both once a
// template of t has executed). A template parsed into t under a new name
// afterwards is rendered too: the first render of that name takes a new
// clone of t, which then also holds every redefinition and function
// replaced (t.Funcs) since. Until then those are not seen: to change a
// template or function after the first render, make the function anew.
// If t itself has executed, the function executes t.
//
// Fragment names are one namespace per Cache (as Flask-Caching's and
// Django's are): {{cache "sidebar" .}} is one fragment in every template
// set whose function FragmentFunc made on this Cache, and in every process
// sharing its backend, whichever set renders it first. That is what a
// fragment defined once and parsed into every page (a shared layout)
// wants. Two template sets that each define a fragment of one name their
// own way (an admin page's "sidebar" and a public page's) must not share
// it, or one page is served the other's: give each set its own scope with
// FragmentFuncIn, or give the fragments distinct names, or vary on a value
// that tells the sets apart ({{cache "sidebar" . "admin"}}).
//
// The key holds no version of the templates: a release that changes a
// fragment's template (or a template or function it calls) reads the
// fragments the release before it stored, in every process sharing the
// backend, and serves the old markup until they expire (with Forever,
// until they are deleted), as Flask-Caching's and Django's do. Where
// markup must change with the deploy, scope the fragments by release,
// FragmentFuncIn(buildID, t, ttl) (delete one with FragmentKeyIn(buildID,
// ...)), so that each release renders and stores its own; or invalidate
// their tags, or Clear, once it is out.
func (c *Cache) FragmentFunc(t *template.Template, ttl time.Duration, opts ...SetOption) func(name string, data any, varyOn ...any) (template.HTML, error) {
	return c.fragmentFunc("FragmentFunc", "", t, ttl, opts)
}

// FragmentFuncIn is FragmentFunc with the fragments kept in scope, a
// namespace of their own (the page or template set t is, such as "admin"):
// {{cache "sidebar" .}} of a function of scope "admin" and of one of scope
// "public" are two fragments, each rendered from its own set's "sidebar".
// The key of one, to delete it, is FragmentKeyIn(scope, name, varyOn...).
// Functions of one scope share their fragments, as FragmentFunc's do; the
// empty scope is FragmentFunc's. Make one on each clone of a template
// whose functions differ (a locale's "T"), in a scope of its own (the
// locale): see FragmentFunc. Like FragmentFunc, it panics on a negative
// ttl.
func (c *Cache) FragmentFuncIn(scope string, t *template.Template, ttl time.Duration, opts ...SetOption) func(name string, data any, varyOn ...any) (template.HTML, error) {
	return c.fragmentFunc("FragmentFuncIn", scope, t, ttl, opts)
}

// fragmentFunc is FragmentFuncIn, which panics naming who.
func (c *Cache) fragmentFunc(who, scope string, t *template.Template, ttl time.Duration, opts []SetOption) func(name string, data any, varyOn ...any) (template.HTML, error) {
	if _, err := c.resolveTTL(ttl); err != nil {
		panic(fmt.Errorf("%w: %s: %w", ErrInvalidOption, who, err))
	}
	src := &fragmentSource{t: t}
	return func(name string, data any, varyOn ...any) (template.HTML, error) {
		key, err := FragmentKeyIn(scope, name, varyOn...)
		if err != nil {
			return "", err
		}
		return c.Fragment(context.Background(), key, ttl, func(w io.Writer) error {
			return src.template(name).ExecuteTemplate(w, name, data)
		}, opts...)
	}
}

// fragmentSource is the template set the function of FragmentFunc renders
// its fragments from: a clone of t of its own, so that a render executes
// that clone and never t. html/template refuses to clone or parse into a
// set once any of its templates has executed: a render that executed t
// (called from a clone of t, whose own execution leaves t as it was)
// stopped t from being cloned for the next locale or request. The clone is
// taken at the first render, when t is complete (the function is made
// before t is parsed), and again for a name t defines that it lacks (a
// definition parsed into t later). If t has executed itself, it can be
// cloned no more, and nothing is lost by executing it: the renders use t.
type fragmentSource struct {
	t   *template.Template
	mu  sync.Mutex                        // taking own
	own atomic.Pointer[template.Template] // the clone, or t once t has executed; nil before the first render
}

// template returns the set to execute the template name from.
func (s *fragmentSource) template(name string) *template.Template {
	if own := s.own.Load(); own != nil && (own == s.t || own.Lookup(name) != nil) {
		return own
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	own := s.own.Load()
	if own != nil && (own == s.t || own.Lookup(name) != nil || s.t.Lookup(name) == nil) {
		return own // undefined in t too: executing own says so
	}
	own, err := s.t.Clone()
	if err != nil {
		own = s.t // t has executed (Clone's only error)
	}
	s.own.Store(own)
	return own
}
