package httpcache

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/header"
)

// CacheStatus is what the cache did with a request, as an X-Cache header
// tells it.
type CacheStatus uint8

// The cache statuses.
const (
	Hit    CacheStatus = iota // served from a fresh entry
	Stale                     // served from a stale entry (stale-while-revalidate, stale-if-error)
	Miss                      // the handler ran; its response may have been stored
	Bypass                    // the handler ran and the cache was not consulted or not written
)

var cacheStatusValues = [...][]string{
	Hit:    {"HIT"},
	Stale:  {"STALE"},
	Miss:   {"MISS"},
	Bypass: {"BYPASS"},
}

// String returns the header value: HIT, STALE, MISS or BYPASS.
func (c CacheStatus) String() string { return c.Values()[0] }

// Values returns the header value as a shared one-element slice with
// cap == len, ready to assign into an http.Header without an allocation.
func (c CacheStatus) Values() []string {
	if int(c) >= len(cacheStatusValues) {
		return cacheStatusValues[Bypass][:1:1]
	}
	return cacheStatusValues[c][:1:1]
}

// ageValues are the Age header values of the first ages, shared by every hit
// so that serving one does not allocate for them.
var ageValues = func() [][]string {
	vs := make([][]string, 1024)
	all := make([]string, len(vs))
	for i := range vs {
		all[i] = strconv.Itoa(i)
		vs[i] = all[i : i+1 : i+1]
	}
	return vs
}()

// AgeValues returns the Age header value for an age as a one-element
// slice; ages under 1024 seconds share preallocated slices.
func AgeValues(age time.Duration) []string {
	secs := int64(age / time.Second)
	if secs < 0 {
		secs = 0
	}
	if secs < int64(len(ageValues)) {
		return ageValues[secs]
	}
	return []string{strconv.FormatInt(secs, 10)}
}

// Serve writes the snapshot as the response to r at time now: the stored
// header (once the fields of Deleted are deleted), an Age counted from
// StoredAt, statusHeader (a canonical header name; "" for none) set to st,
// then the stored status and body. It answers 304 Not Modified instead
// when r's If-None-Match matches the ETag (weak comparison, lists and "*"),
// or, without If-None-Match, when its If-Modified-Since is not before
// Last-Modified; preconditions are only evaluated for a 2xx snapshot and a
// GET or HEAD request. A HEAD request gets the header and no body. The
// Content-Type of a TransferCoded snapshot is sent as nil-valued (none,
// and none sniffed) to net/http's HTTP/1.x server. A Sniffed type, and an
// ETag NewSnapshot computed, are not sent where w's header has the field
// already (an outer middleware set it before the view): the one there
// stands, as on a miss (see keptOuter). It reports whether it answered
// 304.
//
// Serve does not allocate for a snapshot under 1024 seconds old beyond what
// the ResponseWriter does: stored header slices are assigned, not copied.
func (s *Snapshot) Serve(w http.ResponseWriter, r *http.Request, now time.Time, statusHeader string, st CacheStatus) (notModified bool) {
	notModified = s.notModifiedFor(r)
	fields := s.fields
	if notModified {
		fields = s.notModified
	}
	h := w.Header()
	if s.rare != nil {
		for _, name := range s.rare.deleted {
			delete(h, name)
		}
	}
	kept := s.keptOuter(h, true)
	for _, f := range fields {
		h[f.name] = f.values
	}
	kept.restore(h)
	if s.TransferCoded() && !kept.typed && !notModified && untypedOverHTTP1(w, r) {
		h["Content-Type"] = nil // see TransferCoded
	}
	h["Age"] = AgeValues(boottime.Elapsed(s.StoredAt, now))
	if statusHeader != "" {
		h[statusHeader] = st.Values()
	}
	if notModified {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	w.WriteHeader(s.Status)
	if r.Method != http.MethodHead && len(s.Body) > 0 {
		_, _ = w.Write(s.Body)
	}
	return false
}

// outerFields are the fields of a writer's header that a hit keeps over
// the stored ones (see Snapshot.keptOuter).
type outerFields struct {
	typ, tag      []string
	typed, tagged bool
}

// keptOuter returns the fields of h, the header of a hit's writer before
// the stored fields are written, that the hit leaves as they are: its
// Content-Type where the stored one is Sniffed (net/http sniffs none where
// the header has the key, nil-valued included), and, with tags, its ETag
// where the stored one is computed (see computedETag): an outer middleware
// set them before the view, for this request, maybe not for the one whose
// response was stored (on an input the key leaves out). A header without
// fields (nearly every hit's) costs no lookup; one with fields, at most
// one per such field the snapshot has.
func (s *Snapshot) keptOuter(h http.Header, tags bool) outerFields {
	var k outerFields
	if len(h) == 0 {
		return k
	}
	if s.Sniffed() {
		k.typ, k.typed = h["Content-Type"]
	}
	if tags {
		if tag, ok := h["Etag"]; ok && s.computedETag() { // the lookup first: rarely there
			k.tag, k.tagged = tag, true
		}
	}
	return k
}

// restore sets the fields k kept back into h, over the stored ones.
func (k *outerFields) restore(h http.Header) {
	if k.typed {
		h["Content-Type"] = k.typ
	}
	if k.tagged {
		h["Etag"] = k.tag
	}
}

// HeaderPasser is a ResponseWriter that hands the header, status and body
// it is given to the writer PassesHeaderTo returns, adding and sniffing
// nothing (the caching view's own wrappers): a TransferCoded snapshot
// served through it is served as to that writer.
type HeaderPasser interface {
	http.ResponseWriter
	PassesHeaderTo() http.ResponseWriter
}

// untypedOverHTTP1 reports whether w, answering r, is net/http's HTTP/1.x
// server's own ResponseWriter, with no middleware between: the one that
// sniffs no Content-Type for a handler that sets a Transfer-Encoding, where
// the miss of a TransferCoded snapshot went out without one. Any other
// writer gets the stored type: net/http's HTTP/2 server sniffs it, and a
// middleware may sniff it itself (package compress does, to choose what
// to encode) where a HEAD hit has no body to sniff. Only such snapshots
// ask: a hit of any other costs nothing more. It looks through the
// writers that say they pass the header on unchanged (HeaderPasser: the
// view's own wrappers).
func untypedOverHTTP1(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	for {
		p, ok := w.(HeaderPasser)
		if !ok {
			break
		}
		w = p.PassesHeaderTo()
	}
	t := reflect.TypeOf(w)
	return t.Kind() == reflect.Pointer && t.Elem().Name() == "response" && t.Elem().PkgPath() == "net/http"
}

// notModifiedFor evaluates r's If-None-Match and If-Modified-Since against
// the snapshot (RFC 9110 section 13.2.2, steps 3 and 4).
func (s *Snapshot) notModifiedFor(r *http.Request) bool {
	if s.Status < 200 || s.Status > 299 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	if inm, ok := r.Header["If-None-Match"]; ok {
		return s.etagOpaque() != "" && matchAny(inm, s.etagOpaque())
	}
	if s.LastModified.IsZero() || s.LastModified.Unix() <= 0 {
		return false // no header lookup for a snapshot without a date
	}
	ims := r.Header["If-Modified-Since"]
	if len(ims) == 0 {
		return false
	}
	t, err := http.ParseTime(ims[0])
	if err != nil {
		return false
	}
	return !s.LastModified.Truncate(time.Second).After(t)
}

// matchAny reports whether an If-None-Match list matches opaque, an
// entity-tag without its W/ prefix, under weak comparison.
func matchAny(lines []string, opaque string) bool {
	for tag := range header.ETags(lines) {
		if tag == "*" || strings.TrimPrefix(tag, "W/") == opaque {
			return true
		}
	}
	return false
}
