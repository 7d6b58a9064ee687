package httpcache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// addingWriter adds fields to the header it shares with the writers above
// as WriteHeader passes through it, as a session middleware outside a view
// does (alexedwards/scs commits the session there, and adds Set-Cookie,
// Vary: Cookie and Cache-Control: no-cache="Set-Cookie").
type addingWriter struct {
	http.ResponseWriter
	add  func(h http.Header)
	done bool
}

func (a *addingWriter) WriteHeader(code int) {
	if !a.done {
		a.done = true
		a.add(a.Header())
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *addingWriter) Write(p []byte) (int, error) {
	if !a.done {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(p)
}

// recordBelow runs h through a Recorder, judged by a default Policy, over
// an addingWriter that adds fields with add.
func recordBelow(add func(http.Header), h http.HandlerFunc) (*httptest.ResponseRecorder, http.Header, []byte, Reason) {
	w := httptest.NewRecorder()
	p := &Policy{}
	rec := Recorder{StatusHeader: "X-Cache", Hold: true, Check: func(s int, h http.Header) Reason {
		_, r := p.Response(s, h, time.Minute)
		return r
	}}
	h(rec.Reset(&addingWriter{ResponseWriter: w, add: add}), httptest.NewRequest("GET", "/", nil))
	_, header, body, reason := rec.Finish()
	_ = rec.Send()
	return w, header, body, reason
}

// TestRecorderFieldsAddedBelow: the fields that decide whether a response
// may be stored, added by a writer below the Recorder as the status passes
// it (after the Recorder judged the header), are judged too: the client got
// them.
func TestRecorderFieldsAddedBelow(t *testing.T) {
	write := func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello alice") }
	for _, c := range []struct {
		name   string
		add    func(http.Header)
		reason Reason
	}{
		{"Set-Cookie", func(h http.Header) {
			h.Add("Vary", "Cookie")
			h.Add("Cache-Control", `no-cache="Set-Cookie"`)
			h.Add("Set-Cookie", "session=alice-token; HttpOnly")
		}, ReasonSetCookie},
		{"Set-Cookie spelled in lower case", func(h http.Header) { h["set-cookie"] = []string{"s=1"} }, ReasonSetCookie},
		{"private", func(h http.Header) { h.Set("Cache-Control", "private") }, ReasonPrivate},
		{"no-store beside the handler's", func(h http.Header) { h.Add("Cache-Control", "no-store") }, ReasonNoStore},
		{"Vary: *", func(h http.Header) { h.Add("Vary", "*") }, ReasonVaryStar},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, _, body, reason := recordBelow(c.add, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				write(w, r)
			})
			assert.Equal(t, c.reason, reason)
			assert.Nil(t, body)
			assert.Equal(t, "hello alice", w.Body.String(), "the client still gets it")
		})
	}
	t.Run("handler's fields removed below", func(t *testing.T) {
		// The union: a field the client may have got is never dropped.
		_, header, _, reason := recordBelow(func(h http.Header) { h.Del("Vary") }, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Language")
			write(w, r)
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, []string{"Accept-Language"}, header["Vary"])
	})
	t.Run("Vary added below keys the copy", func(t *testing.T) {
		_, header, body, reason := recordBelow(func(h http.Header) {
			h.Add("Vary", "Accept-Language")
			h.Set("Content-Encoding", "gzip") // the writer's own: made again for each response
		}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Origin")
			write(w, r)
		})
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "hello alice", string(body))
		assert.Equal(t, []string{"Origin", "Accept-Language"}, header["Vary"])
		assert.NotContains(t, header, "Content-Encoding")
	})
	t.Run("other fields added below", func(t *testing.T) {
		w, header, body, reason := recordBelow(func(h http.Header) { h.Set("X-Request-Id", "1") }, write)
		assert.Equal(t, ReasonNone, reason)
		assert.Equal(t, "hello alice", string(body))
		assert.NotContains(t, header, "X-Request-Id")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	})
	t.Run("Set-Cookie after commit", func(t *testing.T) {
		// Too late for net/http; a writer below that sends its header
		// later (at its first Write) would send it: judged at Finish.
		_, _, body, reason := recordBelow(func(http.Header) {}, func(w http.ResponseWriter, r *http.Request) {
			write(w, r)
			w.Header().Add("Set-Cookie", "s=1")
		})
		assert.Equal(t, ReasonSetCookie, reason)
		assert.Nil(t, body)
	})
}

// TestRecorderNonCanonicalAddedBelowSameKeyCount: a writer below that
// drops a key as the status passes (Content-Length: it frames the body
// itself, as a compressor deciding at WriteHeader does) and adds a judged
// field under a non-canonical key (net/http sends h["set-cookie"] as it
// is) leaves the header's length unchanged: the key is found all the same.
func TestRecorderNonCanonicalAddedBelowSameKeyCount(t *testing.T) {
	w, _, body, reason := recordBelow(func(h http.Header) {
		delete(h, "Content-Length")
		h["set-cookie"] = []string{"session=alice-token"}
	}, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "11")
		_, _ = io.WriteString(w, "hello alice")
	})
	if lower := "set-cookie"; w.Header()[lower] == nil {
		t.Fatal("test setup: the client did not get set-cookie")
	}
	if reason != ReasonSetCookie || body != nil {
		t.Fatalf("reason %q, body %q: a response sent with set-cookie may be stored", reason, body)
	}
}

// TestRecorderTargetedAddedBelow: Recorder.Targeted (a shared cache's
// CDN-Cache-Control) is watched as the five fields are, in either spelling.
func TestRecorderTargetedAddedBelow(t *testing.T) {
	for _, key := range []string{"Cdn-Cache-Control", "cdn-cache-control"} {
		t.Run(key, func(t *testing.T) {
			w := httptest.NewRecorder()
			var judged http.Header
			rec := Recorder{Hold: true, Targeted: "Cdn-Cache-Control", Check: func(_ int, h http.Header) Reason {
				judged = h
				if h.Get("Cdn-Cache-Control") == "private" {
					return ReasonPrivate
				}
				return ReasonNone
			}}
			hw := rec.Reset(&addingWriter{ResponseWriter: w, add: func(h http.Header) { h[key] = []string{"private"} }})
			_, _ = io.WriteString(hw, "hello alice")
			_, _, body, reason := rec.Finish()
			_ = rec.Send()
			if reason != ReasonPrivate || body != nil {
				t.Fatalf("reason %q, body %q (judged %v): a response sent with CDN-Cache-Control: private may be stored", reason, body, judged)
			}
		})
	}
}
