package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStrayDirectivesNotStored: "Cache-Control: no-store; private"
// (semicolons for commas, a common slip) was one unknown directive to the
// parser, "max-age=60 private" a max-age with a bad value, and an
// unterminated quoted-string hid the "private" after it: the response was
// stored and one user's page served to the next. nginx, which searches the
// value for no-store, no-cache and private, stores none of them; a
// malformed value can only make the cache store less, in either mode.
func TestStrayDirectivesNotStored(t *testing.T) {
	for _, value := range []string{
		"no-store; private",
		"max-age=60 private",
		`max-age=60, community="x, private`,
		"public;no-cache",
	} {
		for _, mode := range []struct {
			name string
			opts []ViewOption
		}{
			{"default", nil},
			{"shared", []ViewOption{SharedCache()}},
		} {
			t.Run(mode.name+"/"+value, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				h := c.Cached(time.Minute, mode.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ck, _ := r.Cookie("sid")
					w.Header().Set("Cache-Control", value)
					w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
					fmt.Fprintf(w, "inbox of %s", ck.Value)
				}))
				require.Equal(t, "inbox of alice", get(h, "/mail", "Cookie", "sid=alice").Body.String())
				assert.Equal(t, "inbox of bob", get(h, "/mail", "Cookie", "sid=bob").Body.String(), "bob got alice's page")
			})
		}
	}
}

// TestStrayDirectivesTargeted: in SharedCache, an invalid CDN-Cache-Control
// is ignored for Cache-Control (RFC 9213 section 2.2), but the no-store,
// private or no-cache it names still keep the response out.
func TestStrayDirectivesTargeted(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("sid")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("CDN-Cache-Control", "private no-store") // not a dictionary
		fmt.Fprintf(w, "inbox of %s", ck.Value)
	}))
	require.Equal(t, "inbox of alice", get(h, "/mail", "Cookie", "sid=alice").Body.String())
	assert.Equal(t, "inbox of bob", get(h, "/mail", "Cookie", "sid=bob").Body.String(), "bob got alice's page")
}
