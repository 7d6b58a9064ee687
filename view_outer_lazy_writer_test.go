package caching

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lazyOuter is a middleware outside the view whose writer holds the status
// until the first body byte, as compressing and session middlewares built
// that way do: WriteHeader only records the code; the first Write (or the
// handler's return, for an empty body) decides, adds field: value to the
// header of a 2xx (none when field is ""), then calls the real WriteHeader
// and Write.
func lazyOuter(field, value string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lw := &lazyOuterWriter{ResponseWriter: w, field: field, value: value}
		next.ServeHTTP(lw, r)
		lw.commit()
	})
}

type lazyOuterWriter struct {
	http.ResponseWriter
	field, value string
	code         int
	committed    bool
}

func (l *lazyOuterWriter) WriteHeader(code int) {
	if l.code == 0 && code >= 200 {
		l.code = code
	}
}

func (l *lazyOuterWriter) commit() {
	if l.committed {
		return
	}
	l.committed = true
	if l.code == 0 {
		l.code = http.StatusOK
	}
	if l.field != "" && l.code >= 200 && l.code < 300 {
		l.Header().Add(l.field, l.value)
	}
	l.ResponseWriter.WriteHeader(l.code)
}

func (l *lazyOuterWriter) Write(p []byte) (int, error) {
	l.commit()
	return l.ResponseWriter.Write(p)
}

// viewModes are the two flows: the default (Flask-Caching) one and
// SharedCache's (RFC 9111).
var viewModes = []struct {
	name string
	opts []ViewOption
}{
	{"default", nil},
	{"SharedCache", []ViewOption{SharedCache()}},
}

// lazyPage is the page of the user its "user" cookie names: size bytes of
// body (none when 0; the user is then in X-User), byte-exact per user.
func lazyPage(user string, size int) string {
	if size == 0 {
		return ""
	}
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s:%d ", user, i)
	}
	return b.String()[:size]
}

// lazyGet GETs url with the Cookie cookie, and returns the response and
// its body.
func lazyGet(t *testing.T, url, cookie string) (*http.Response, string) {
	t.Helper()
	return lazyDo(t, http.MethodGet, url, cookie)
}

// lazySizes are the bodies the tests below serve: empty, within the view's
// first write below (net/http sniffs 512 bytes), and past it.
var lazySizes = []int{0, 11, 4000}

// lazyServer serves the page of the user of the "user" cookie, through a
// view with opts of a fresh Cache over store kind k, behind
// lazyOuter(field, value).
func lazyServer(t *testing.T, k storeKind, opts []ViewOption, size int, field, value string) *httptest.Server {
	c, _ := k.open(t, nil, nil, Options{})
	t.Cleanup(func() { c.Close() })
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		user := "anonymous"
		if ck, err := r.Cookie("user"); err == nil {
			user = ck.Value
		}
		w.Header().Set("X-User", user)
		io.WriteString(w, lazyPage(user, size))
	})
	view := c.Cached(time.Minute, append(opts, CacheStatusHeader("X-Cache"))...)(page)
	srv := httptest.NewServer(lazyOuter(field, value, view))
	t.Cleanup(srv.Close)
	return srv
}

// TestCachedLazyOuterWriterJudged: a middleware outside the view that adds
// Vary: Cookie (or Set-Cookie, or Cache-Control: private) to a 2xx only at
// its writer's first Write got the body from the view only at Send, once
// the response was stored without that field: alice's page was stored
// under the key every cookie shares, and served to bob as a hit. Now the
// view writes the first bytes of the held body to the writers below before
// it judges the response for the last time and stores it: bob gets his own
// page.
func TestCachedLazyOuterWriterJudged(t *testing.T) {
	fields := []struct{ field, value string }{
		{"Vary", "Cookie"},
		{"Set-Cookie", "session=alice-token; HttpOnly"},
		{"Cache-Control", "private"},
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, mode := range viewModes {
			for _, f := range fields {
				for _, size := range lazySizes {
					name := fmt.Sprintf("%s %s size=%d", mode.name, f.field, size)
					srv := lazyServer(t, k, mode.opts, size, f.field, f.value)
					alice, body := lazyGet(t, srv.URL+"/home", "user=alice")
					require.Equal(t, "alice", alice.Header.Get("X-User"), name)
					require.Equal(t, lazyPage("alice", size), body, name)
					require.Contains(t, alice.Header.Values(f.field), f.value, name+": the client got the field")
					bob, body := lazyGet(t, srv.URL+"/home", "user=bob")
					assert.Equal(t, "bob", bob.Header.Get("X-User"), name+": bob got alice's page (X-Cache %s)", bob.Header.Get("X-Cache"))
					assert.Equal(t, lazyPage("bob", size), body, name)
					if f.field == "Vary" {
						again, body := lazyGet(t, srv.URL+"/home", "user=alice")
						assert.Equal(t, "HIT", again.Header.Get("X-Cache"), name+": alice's variant is stored")
						assert.Equal(t, "alice", again.Header.Get("X-User"), name)
						assert.Equal(t, lazyPage("alice", size), body, name)
					}
				}
			}
		}
	})
}

// TestCachedLazyOuterWriterAddingNothing: behind a lazy writer that adds
// nothing, the page is stored and hits as before, and its body reaches
// the client once, byte-exact: the first bytes the view writes below
// before it stores are not sent again with the rest.
func TestCachedLazyOuterWriterAddingNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		for _, mode := range viewModes {
			for _, size := range lazySizes {
				name := fmt.Sprintf("%s size=%d", mode.name, size)
				srv := lazyServer(t, k, mode.opts, size, "", "")
				for i, want := range []string{"MISS", "HIT", "HIT"} {
					resp, body := lazyGet(t, srv.URL+"/home", "user=alice")
					assert.Equal(t, want, resp.Header.Get("X-Cache"), "%s: request %d", name, i)
					assert.Equal(t, "alice", resp.Header.Get("X-User"), name)
					assert.Equal(t, lazyPage("alice", size), body, "%s: request %d", name, i)
				}
			}
		}
	})
}
