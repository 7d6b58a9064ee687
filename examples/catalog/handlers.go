package main

// handlers.go: the HTTP routes. Reads go through the cache (the response
// cache for products, Memoize for statistics); writes go to the Store and then
// invalidate exactly what they made stale.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/compress"
)

// TTLs of the cached reads.
const (
	listTTL    = 5 * time.Minute
	productTTL = time.Minute
	statsTTL   = 10 * time.Minute
)

// Paging limits of GET /products.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// maxPage bounds the page number before any SQL runs (its offset
	// stays far from int64's range); a page past the last is a 404.
	maxPage = 1 << 30
)

// perPageSizes are the values per_page may take; any other is a 400. Each
// size is a list of pages of its own in the cache: every size from 1 to
// 100 was 26,000 pages of 5,000 products, each in several encodings, which
// a client could have the cache store, flushing a simple:// store; these
// sizes are 1,900 pages.
var perPageSizes = []int64{5, 10, defaultPerPage, 50, maxPerPage}

// Input bounds: outside them the API answers 400, before any SQL runs.
const (
	// maxBody is the largest JSON body read, in bytes (413 past it).
	maxBody = 1 << 20
	// maxNameLen is the longest product name, in characters.
	maxNameLen = 200
	// maxAmount is the largest price and the largest sale, that of an
	// order (price times quantity) included. A sum of sales
	// then stays far from float64's range (SQLite's and PostgreSQL's SUM would
	// need 10^302 sales to overflow, where two of 1e308 did) and within the
	// 2^53 cents (90 trillion) that float64 counts exactly.
	maxAmount = 1_000_000
)

// statsArgs is the argument of the memoized statistics function: one entry
// per user and period.
type statsArgs struct {
	UserID int64
	Period string
}

// api holds what the handlers and the jobs need.
type api struct {
	store *Store
	cache *caching.Cache
	stats *caching.Memoized[statsArgs, SalesStats]
	// reports keeps the reports the report job makes (jobs.go).
	reports *caching.Memoized[reportArgs, SalesReport]
	log     *slog.Logger
	// invalidations, keptReads and keptReports log the failures of the
	// invalidations of writes, of the reads of kept reports and of
	// keeping the reports made, which a cache outage fails one a request
	// (or a job), at a rate no client drives (failureLog).
	invalidations, keptReads, keptReports *failureLog
	// requests logs the requests failed with a 500 (logFailure); pages,
	// the pages writeHTML could not render (a template error).
	requests, pages *failureLog
	// jobErrors logs the failed attempts of jobs (riverConfig).
	jobErrors jobErrorLog
	// queue is the job queue; mux, the routes (the warm job sends its
	// requests through them); retention, how long sales are kept.
	queue     *jobQueue
	mux       *http.ServeMux
	retention time.Duration
	// maxVariants, when not 0, is the views' MaxVariants
	// (Config.maxVariants: a test hook).
	maxVariants int
	// reportRead, when set, is called by the report job after its read,
	// before the report is stored (Config.reportRead: a test hook).
	reportRead func(ctx context.Context, args reportArgs)
}

// closeLogs tells the failures its failureLogs hold and stops their
// timers (failureLog.close), once nothing else of the service runs.
func (a *api) closeLogs() {
	for _, f := range []*failureLog{a.invalidations, a.keptReads, a.keptReports, a.requests, a.pages, a.jobErrors.attempts, a.jobErrors.panics} {
		if f != nil {
			f.close()
		}
	}
}

func newAPI(store *Store, cache *caching.Cache, log *slog.Logger) *api {
	a := &api{store: store, cache: cache, log: log,
		invalidations: newFailureLog(log, slog.LevelError, "catalog: invalidation failed"),
		keptReads:     newFailureLog(log, slog.LevelWarn, "catalog: kept report unreadable"),
		keptReports:   newFailureLog(log, slog.LevelWarn, "catalog: report made, not kept in the cache"),
		requests:      newQuietFailureLog(log, slog.LevelError, "request failed"),
		pages:         newQuietFailureLog(log, slog.LevelError, "catalog: page not rendered")}
	// One entry per (user, period); concurrent misses for one of them run
	// the query once. Each entry is tagged with its user's tag
	// (userSalesTag, by ArgTags), which a sale invalidates; the tag
	// "sales" drops them all when old sales are purged; the warm job
	// recomputes some (Refresh). Statistics with no sales are not stored:
	// any user id may be asked for, and a made-up one would be an entry per
	// request (storeStats).
	a.stats = caching.Memoize(cache, "sales-stats", func(ctx context.Context, args statsArgs) (SalesStats, error) {
		return store.Stats(ctx, args.UserID, args.Period)
	}, caching.TTL(statsTTL), caching.Tags("sales"), caching.StoreIf(storeStats),
		caching.ArgTags(func(args statsArgs) []string { return []string{userSalesTag(args.UserID)} }))
	a.reports = a.memoizeReports()
	return a
}

// routes registers every route on mux.
//
// The cached routes compress inside the response cache: the cache stores
// one compressed variant per Accept-Encoding (the response says Vary:
// Accept-Encoding), so a hit is served already compressed and nothing is
// compressed twice.
func (a *api) routes(mux *http.ServeMux, cz *compress.Compressor) {
	// Only 200 responses are stored (a 404 or 400 never is), and X-Cache
	// tells HIT, MISS or STALE. Every page carries the tag "products", so
	// one InvalidateTags makes all of them stale.
	//
	// A key holds only what the handler reads, each in the one spelling it
	// accepts: otherwise every other spelling of a page (?junk=N,
	// /products/1?x=N, /products/042) is an entry of its own, which a client
	// can add without end, and which the invalidation of the page's own key
	// does not reach. So the list's key holds only page and per_page, in
	// canonical order (?page=2&per_page=10 and ?per_page=10&page=2 share an
	// entry), and a product's key is its path alone (PathOnly). A
	// parameter given its default value (?page=1, ?per_page=20) is left out
	// before the key is made (defaultsLeftOut). A number written another
	// way than strconv.FormatInt writes it (042, +42, an empty value, %32:
	// the cache keys escapes as sent), a parameter given twice and a query
	// string that does not parse (which the cache keys byte for byte) are a
	// 400, and a page past the last a 404, so that none of these is stored;
	// a product's id is checked before its view (canonicalID), and the
	// list's path too (unescapedPath). Each page of the list has one key (per
	// encoding): 1,900 of the seeded catalog, over the five sizes.
	//
	// The responses are the same whatever name the service is reached by
	// (127.0.0.1, localhost, a domain), so the keys leave the host out
	// (IgnoreHost): one entry per page for all of them, which the warm
	// job fills, whatever host it asks with.
	//
	// A view keeps a variant per reading of Accept-Encoding, and at most
	// DefaultMaxVariants of them per page: past that, a request for
	// another one is served uncached. canonicalEncoding, in front of each
	// view, leaves only what compress would choose of the header, so that
	// a page has a handful of variants whatever clients send, and a client
	// sending many spellings of the header cannot use up the page's
	// variants, leaving browsers and curl uncached.
	xcache := caching.CacheStatusHeader("X-Cache")
	listKey := caching.QueryString(caching.QueryKeyOptions{Allow: []string{"page", "per_page"}})
	mux.Handle("GET /products", unescapedPath(defaultsLeftOut(url.Values{"page": {"1"}, "per_page": {strconv.Itoa(defaultPerPage)}}, canonicalEncoding(cz, a.cache.Cached(listTTL, a.viewOptions(caching.Tags("products"), caching.IgnoreHost(), listKey, xcache)...)(cz.Handler(http.HandlerFunc(a.listProducts)))))))
	mux.Handle("GET /products/{id}", canonicalID("id", canonicalEncoding(cz, a.cache.Cached(productTTL, a.viewOptions(caching.IgnoreHost(), caching.PathOnly(), xcache)...)(cz.Handler(http.HandlerFunc(a.getProduct))))))
	// A write that succeeds drops the cached responses of its path (every
	// query string, coding and host of it): DELETE /products/42 drops
	// /products/42, POST /products every page of /products, with no
	// invalidation code (RFC 9111 section 4.4), and a failed drop is
	// retried until the backend answers. The path is the product's own
	// tag: since an id has one spelling, /products/42 is the only path
	// product 42 is cached under, and a writer other than these routes
	// would drop it with cache.InvalidatePath(ctx, "/products/42"), as PUT
	// does itself (updateProduct): only when the product changed, which
	// InvalidateOnWrite cannot tell from the response. The list pages a
	// change to one product affects are another path: the tag "products"
	// drops them.
	writes := a.cache.Cached(0, caching.InvalidateOnWrite())
	mux.Handle("POST /products", writes(http.HandlerFunc(a.createProduct)))
	mux.HandleFunc("PUT /products/{id}", a.updateProduct)
	mux.Handle("DELETE /products/{id}", writes(http.HandlerFunc(a.deleteProduct)))
	mux.HandleFunc("GET /api/stats/{user_id}", a.getStats)
	mux.HandleFunc("POST /api/sales", a.recordSale)
	mux.HandleFunc("POST /api/orders", a.createOrder)
	mux.HandleFunc("POST /api/reports", a.createReport)
	mux.HandleFunc("GET /api/tasks/{id}", a.getTask)
	a.storefrontRoutes(mux, cz)
	a.mux = mux
}

// viewOptions returns opts, with MaxVariants when a test set it
// (Config.maxVariants).
func (a *api) viewOptions(opts ...caching.ViewOption) []caching.ViewOption {
	if a.maxVariants > 0 {
		opts = append(opts, caching.MaxVariants(a.maxVariants))
	}
	return opts
}

// canonicalEncoding serves next, a cached view around cz.Handler, with the
// request's Accept-Encoding replaced by what stands for it in cz's
// negotiation (compress's CanonicalAcceptEncoding): only the codings cz
// chooses for it, which the client accepts, or an empty header when it
// chooses none; a request without the header keeps none. Every way of
// writing the header that gets the same choices is then one variant of the
// view (a few per page), and gets the same response as before.
// Everything outside next (the timing and the outer compression) sees the
// request as it came.
func canonicalEncoding(cz *compress.Compressor, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lines := r.Header["Accept-Encoding"]
		if canon := cz.CanonicalAcceptEncoding(r); !slices.Equal(canon, lines) {
			r2 := new(http.Request)
			*r2 = *r
			r2.Header = r.Header.Clone()
			r2.Header["Accept-Encoding"] = canon
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// onlyGet reports whether r is a GET or a HEAD, and answers any other
// method with 405 and its Allow, in JSON.
func onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// jsonErrors serves mux, answering the mux's own 404 (no route has the
// path) and 405 (no route of the path takes the method; the Allow header is
// kept) with the JSON body every other error has, where ServeMux writes
// text.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // a route: it sets the path values
			return
		}
		rec := &recorder{header: w.Header()}
		h.ServeHTTP(rec, r) // the mux's 404, 405 or redirect, recorded
		if rec.status < 400 {
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		w.Header().Del("X-Content-Type-Options")
		msg := "not found"
		if rec.status == http.StatusMethodNotAllowed {
			msg = "method " + r.Method + " not allowed; allowed: " + w.Header().Get("Allow")
		}
		writeError(w, rec.status, msg)
	})
}

// recorder keeps what the mux's own handlers write: their headers go to the
// real response's header map, their status and body are held back.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// fail answers err: a 404 for errNotFound, a 400 for errUnknownCategory
// and errNoChange, a 500 for anything else (a database error), logged
// (logFailure).
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not found")
	case errors.Is(err, errUnknownCategory), errors.Is(err, errNoChange):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		a.logFailure(r, err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// logFailure logs err, which failed r with a 500: at ERROR, unless r's
// client has left (clientLeft), which is no error of the service and is
// logged at DEBUG. Any client can close its connection right after its
// request, and the query then running fails with "context canceled": each
// was an ERROR line, with no rate limit, which any client could have
// written at the rate it sent requests (TestClientLeftIsNoServerError).
// The failures of a database that is down are logged at a bounded rate
// (a.requests: TestDatabaseOutageLogBounded).
func (a *api) logFailure(r *http.Request, err error) {
	if clientLeft(r) {
		a.log.Debug("request abandoned: the client left", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	a.requests.failed(r.Context(), err, "method", r.Method, "path", r.URL.Path)
}

// clientLeft reports whether r's client has gone: its context is done,
// which net/http does when the connection closes or the HTTP/2 stream is
// reset (the server's timeouts end no context: see newServer). What failed
// then most likely failed for that reason.
func clientLeft(r *http.Request) bool { return r.Context().Err() != nil }

// notCanonical is the error of a number written another way than
// strconv.FormatInt writes it.
const notCanonical = "%s must be a positive integer, written in digits with no sign, leading zero or escape"

// canonicalInt parses s as an integer from 1 to max written as
// strconv.FormatInt writes it: digits, the first not 0. strconv.ParseInt
// alone also takes "042" and "+42": each such spelling of a page would be
// a cache entry of its own, which the invalidation of the page's own entry
// does not reach.
func canonicalInt(s, name string, max int64) (int64, error) {
	if !isCanonicalDecimal(s) {
		return 0, fmt.Errorf(notCanonical, name)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("%s is too large (at most %d)", name, max)
	}
	return n, nil
}

// isCanonicalDecimal reports whether s is a positive integer in digits
// with no leading zero.
func isCanonicalDecimal(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// queryInt is canonicalInt of the query parameter name, or def when it is
// absent. An empty value (?page=) is a 400, as any other spelling is: it
// was read as def, one more key of the first page.
func queryInt(q url.Values, name string, def, max int64) (int64, error) {
	v, ok := q[name]
	if !ok {
		return def, nil
	}
	return canonicalInt(v[0], name, max)
}

// defaultsLeftOut serves next, a cached view, with the query parameters of
// defaults that hold their default value, in its one spelling, left out of
// the query string: ?page=1&per_page=20 is then served as the page without
// them, under its key, where each way of writing the first page or the
// default size was an entry of its own (nine of the first page). The
// handler reads the same values either way, and its response does not
// show the query string. A query string that does not parse is left as it
// is, for the handler to refuse.
func defaultsLeftOut(defaults url.Values, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && r.URL.RawQuery != "" {
			dropped := false
			for name, def := range defaults {
				if slices.Equal(q[name], def) {
					q.Del(name)
					dropped = true
				}
			}
			if dropped {
				r2 := new(http.Request)
				*r2 = *r
				u := *r.URL
				u.RawQuery = q.Encode()
				r2.URL = &u
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readQuery parses the query string of a cached route whose handler reads
// the parameters names, those its key holds. It refuses what would give
// one page keys without end: a query string that does not parse cleanly
// (an invalid escape, a ';': the cache keys it byte for byte, whatever its
// parameters), a parameter read given more than once (the key keeps every
// value, the handler reads the first), and one read whose name or value is
// escaped (a '%' or a '+': the key keeps a parameter as the client spelled
// it, the handler reads it unescaped, so that page=%32, pag%65=2 and
// page=2 were three keys of one page, and any character of them could be
// escaped: TestEscapedQuerySpellings).
func readQuery(r *http.Request, names ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errors.New("malformed query string")
	}
	for _, name := range names {
		if len(q[name]) > 1 {
			return nil, fmt.Errorf("%s is given more than once", name)
		}
	}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		rawName, _, _ := strings.Cut(part, "=")
		name, _ := url.QueryUnescape(rawName) // ParseQuery read it
		if slices.Contains(names, name) && strings.ContainsAny(part, "%+") {
			return nil, fmt.Errorf(notCanonical, name)
		}
	}
	return q, nil
}

// pathID parses the path value name as a positive id, answering 400 if it
// is not one or is not written in the one way a cached path may spell it:
// canonical digits, not escaped (/products/%34%32 is product 42 under a
// key of its own).
func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := canonicalInt(r.PathValue(name), name, math.MaxInt64)
	if err == nil && r.URL.RawPath != "" {
		err = fmt.Errorf(notCanonical, name)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, false
	}
	return id, true
}

// unescapedPath answers 400 to a request whose path was escaped
// (/product%73, /%70roducts: r.URL.RawPath is set), before next, a cached
// view, sees it: the view keys the path as the client spelled it (and
// records a version of each path it looks up), so every spelling was a key
// of its own, each a copy of every page (TestEscapedPathSpellings).
func unescapedPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawPath != "" {
			writeError(w, http.StatusBadRequest, "the path must be written without escapes")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// canonicalID answers 400, as pathID does, to a request whose path value
// name is not an id in its one spelling, before next (a cached view) sees
// it: a view records a version of every path it looks up, so even a
// refusal from inside it would add an entry per spelling asked for.
func canonicalID(name string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := pathID(w, r, name); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// decodeBody reads a JSON object into v, answering 415 for a body that is
// not said to be JSON (see jsonContent), 400 for a malformed body, one that
// is not UTF-8 (encoding/json would quietly turn its bad bytes into
// U+FFFD), unknown fields or trailing data, and 413 for one over maxBody.
// A 400 says what is wrong in the API's terms (jsonError), never in
// encoding/json's, which names the service's Go types.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if !jsonContent(r) {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be JSON, sent with Content-Type: application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", maxBody))
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body could not be read")
		return false
	}
	if !utf8.Valid(body) {
		err = errors.New("the body is not valid UTF-8")
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = jsonError(dec.Decode(v))
		if err == nil && dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// jsonContent reports whether r's Content-Type is application/json (with
// any parameters: charset=utf-8). A write sent with another, or none, is
// refused, whatever its body: a form, or fetch with mode "no-cors", posts
// text/plain, a form's types or no type at all to any site without asking
// it first (a CORS "simple" request), so any page a user of the service
// opened could create products, record sales and place orders in their
// name. A body sent as application/json needs the service's consent first
// (a CORS preflight), which it never gives: it sends no CORS headers.
func jsonContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// jsonError returns err, an error of encoding/json's Decode, in the
// API's terms: a field of the wrong type is "price must be a number", not
// "cannot unmarshal string into Go struct field ProductInput.price of type
// float64", which tells a client the service's Go types. An error it does
// not know is "not a JSON object".
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return errors.New("the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends early")
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("not valid JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return errors.New("the body must be a JSON object")
	case errors.As(err, &typeErr):
		return fmt.Errorf("%s must be %s", typeErr.Field, jsonKind(typeErr))
	case strings.HasPrefix(err.Error(), `json: unknown field "`):
		// The field is the client's own text: quoted, as encoding/json
		// quotes it.
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return errors.New("not a JSON object")
}

// jsonKind names what a field of the type e.Type takes, in JSON's words.
func jsonKind(e *json.UnmarshalTypeError) string {
	t := e.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	number := strings.HasPrefix(e.Value, "number")
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if number { // a fraction, or past the integer's range
			return "an integer in range"
		}
		return "an integer"
	case reflect.Float32, reflect.Float64:
		if number { // 1e309: past float64's range
			return "a number in range"
		}
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// checkAmount checks a price or a sale amount: a finite number from min
// (exclusive when positive is set) to maxAmount.
func checkAmount(name string, v float64, positive bool) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%s must be a finite number", name)
	case positive && v <= 0:
		return fmt.Errorf("%s must be positive", name)
	case v < 0:
		return fmt.Errorf("%s must not be negative", name)
	case v > maxAmount:
		return fmt.Errorf("%s must be at most %d", name, maxAmount)
	}
	return nil
}

// checkName checks a product name: valid UTF-8, not blank, at most
// maxNameLen characters, and no control characters (NUL among them, which
// PostgreSQL cannot store in text).
func checkName(s string) error {
	switch {
	case !utf8.ValidString(s):
		return errors.New("name must be valid UTF-8")
	case strings.TrimSpace(s) == "":
		return errors.New("name must not be empty")
	case utf8.RuneCountInString(s) > maxNameLen:
		return fmt.Errorf("name must be at most %d characters", maxNameLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return errors.New("name must not contain control characters (such as NUL or a line break)")
	}
	return nil
}

// GET /products?page=N&per_page=M
func (a *api) listProducts(w http.ResponseWriter, r *http.Request) {
	page, perPage, err := listParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out, err := a.store.ListProducts(r.Context(), int(page), int(perPage))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if pastLast(out) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("page %d is past the last page, %d", out.Page, max(out.Pages, 1)))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listParams reads page and per_page. A per_page that is not one of
// perPageSizes is a 400, not the nearest size: each value would be a page
// of its own in the cache.
func listParams(r *http.Request) (page, perPage int64, err error) {
	q, err := readQuery(r, "page", "per_page")
	if err != nil {
		return 0, 0, err
	}
	if page, err = queryInt(q, "page", 1, maxPage); err != nil {
		return 0, 0, err
	}
	if perPage, err = queryInt(q, "per_page", defaultPerPage, maxPerPage); err != nil {
		return 0, 0, err
	}
	if !slices.Contains(perPageSizes, perPage) {
		return 0, 0, errors.New("per_page must be 5, 10, 20, 50 or 100")
	}
	return page, perPage, nil
}

// pastLast reports whether p is a page past the last one. It is answered
// 404, which the cache does not store: an empty page would be, once per
// number asked for. (The first page of an empty list is not past it.)
func pastLast(p Page) bool { return p.Page > max(p.Pages, 1) }

// GET /products/{id}
func (a *api) getProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	p, err := a.store.GetProduct(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// validate checks the fields present in in; create requires all of them,
// an update one at least. An update of no field ({}) changed nothing but
// updated_at, and still made every page of the list and the storefront
// and every sidebar stale: any client could keep them all uncached with
// one request a second.
func (in ProductInput) validate(create bool) error {
	switch {
	case create && (in.Name == nil || in.Price == nil || in.CategoryID == nil):
		return errors.New("name, price and category_id are required")
	case in.Name == nil && in.Price == nil && in.CategoryID == nil:
		return errNoChange
	}
	if in.Name != nil {
		if err := checkName(*in.Name); err != nil {
			return err
		}
	}
	if in.Price != nil {
		if err := checkAmount("price", *in.Price, false); err != nil {
			return err
		}
	}
	if in.CategoryID != nil && *in.CategoryID < 1 {
		return errors.New("category_id must be a positive integer")
	}
	return nil
}

// invalidateList makes every cached page of the list stale, in every
// process sharing the backend: one small write, whatever the number of
// pages cached, and no key scan. (The product's own path is dropped by
// InvalidateOnWrite.) A failure is logged (a.invalidations: at a bounded
// rate), not answered: the write has happened (or may have), and the
// library retries the invalidation until the backend answers.
func (a *api) invalidateList(ctx context.Context) {
	a.invalidated(ctx, a.cache.InvalidateTags(ctx, "products"), "what", "product list")
}

// invalidated logs the outcome of an invalidation, err, through
// a.invalidations; attrs say what it invalidated.
func (a *api) invalidated(ctx context.Context, err error, attrs ...any) {
	if err != nil {
		a.invalidations.failed(ctx, err, attrs...)
		return
	}
	a.invalidations.ok(ctx)
}

// mayHaveWritten reports whether a write of the Store that returned err
// may have changed the database: yes unless err is an answer given before
// anything was written (no such product, no such category). A statement
// that committed can still fail for its caller: the client hung up (the
// request's context ended) or the connection broke while its result was
// read.
func mayHaveWritten(err error) bool {
	return !errors.Is(err, errNotFound) && !errors.Is(err, errUnknownCategory) && !errors.Is(err, errNoChange)
}

// invalidateWrite makes stale what a write of products, tried and
// answered err, may have changed: the list pages and, when the write
// failed or ownPath is set, the path of the product written (path, "" for
// none), which InvalidateOnWrite drops only after a success (ownPath: the
// route has no InvalidateOnWrite). A write whose outcome is unknown is
// invalidated as one that succeeded: otherwise a committed change is
// served stale for the pages' TTL. The context outlives the request: a
// client that hung up after the write must not cancel its invalidation.
func (a *api) invalidateWrite(r *http.Request, path string, err error, ownPath bool) {
	if !mayHaveWritten(err) {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	a.invalidateList(ctx)
	if (err != nil || ownPath) && path != "" {
		a.invalidated(ctx, a.cache.InvalidatePath(ctx, path), "what", "product", "path", path)
	}
}

// productPath is the one path product id is cached under.
func productPath(id int64) string { return "/products/" + strconv.FormatInt(id, 10) }

// POST /products
func (a *api) createProduct(w http.ResponseWriter, r *http.Request) {
	var in ProductInput
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.validate(true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := a.store.CreateProduct(r.Context(), in)
	// A product that was not there was cached nowhere (a 404 is not
	// stored): only the list changed.
	a.invalidateWrite(r, "", err, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

// PUT /products/{id}
func (a *api) updateProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in ProductInput
	if !decodeBody(w, r, &in) {
		return
	}
	if err := in.validate(false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, changed, err := a.store.UpdateProduct(r.Context(), id, in)
	if changed || err != nil {
		// An update to the values the product has already invalidates
		// nothing, neither the list nor the product's page (the route has
		// no InvalidateOnWrite: see routes): the write API has no
		// authentication, and every client could otherwise keep them
		// uncached at will. The page is dropped before the answer is
		// written, after the UPDATE committed, as InvalidateOnWrite would.
		a.invalidateWrite(r, productPath(id), err, true)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// DELETE /products/{id}
func (a *api) deleteProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	err := a.store.DeleteProduct(r.Context(), id)
	a.invalidateWrite(r, productPath(id), err, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/stats/{user_id}?period=monthly|weekly|yearly
func (a *api) getStats(w http.ResponseWriter, r *http.Request) {
	user, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	period := r.URL.Query().Get("period")
	if period == "" {
		period = "monthly"
	}
	if _, ok := periods[period]; !ok {
		writeError(w, http.StatusBadRequest, "period must be weekly, monthly or yearly")
		return
	}
	s, err := a.stats.Get(r.Context(), statsArgs{UserID: user, Period: period})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// storeStats reports whether s is stored: only if it counts sales. There is
// no table of users to check an id against, so statistics with none are
// those of any id a client makes up, which would otherwise each be an entry
// for statsTTL (and evict the pages the cache serves); a user with no sales
// in the period costs one indexed query per read instead.
func storeStats(s SalesStats) bool { return s.Orders > 0 }

// userSalesTag is the tag of user's statistics (ArgTags), which a sale of
// user invalidates: one write drops the statistics of every period, in
// every process, those being computed anywhere at that moment included.
// Forget, one call per period, stopped only the computations of its own
// process: statistics another process was reading when the sale was
// recorded were stored after the Forget and served for statsTTL without
// the sale.
func userSalesTag(user int64) string { return "user-sales:" + strconv.FormatInt(user, 10) }

// saleInput is the body of POST /api/sales.
type saleInput struct {
	UserID *int64   `json:"user_id"`
	Amount *float64 `json:"amount"`
}

// POST /api/sales
func (a *api) recordSale(w http.ResponseWriter, r *http.Request) {
	var in saleInput
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.UserID == nil || in.Amount == nil:
		writeError(w, http.StatusBadRequest, "user_id and amount are required")
		return
	case *in.UserID < 1:
		writeError(w, http.StatusBadRequest, "user_id must be a positive integer")
		return
	}
	if err := checkAmount("amount", *in.Amount, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sale, err := a.store.RecordSale(r.Context(), *in.UserID, *in.Amount)
	// The user's statistics changed for every period, and so did the
	// report of this month: invalidated once the INSERT was tried, whatever
	// it answered (it may have committed: see invalidateWrite), with a
	// context the client's leaving does not end. The sale's date is set
	// before the INSERT.
	ctx := context.WithoutCancel(r.Context())
	a.invalidated(ctx, a.invalidateSale(ctx, *in.UserID, sale.CreatedAt), "what", "sale")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sale)
}
