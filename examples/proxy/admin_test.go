package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminDecodesEscapedPath: a path as it appears in a link, a log line
// or the address bar is escaped ("/caf%C3%A9"). Given so to POST
// /invalidate, the admin API answered "invalidated 1 paths" and dropped
// nothing: InvalidatePath takes the decoded path ("/café"), which the
// absolute-URL form got (url.Parse decodes it) and the bare form did not.
// The bare form is decoded too now, and one that does not decode is
// refused.
func TestAdminDecodesEscapedPath(t *testing.T) {
	var calls atomic.Int64
	front, admin := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "#%d", calls.Add(1))
	}), nil)
	for _, tc := range []struct {
		path string // as the query holds it, escaped once more
		code int
	}{
		{"/caf%25C3%25A9", http.StatusOK},
		{"/caf%C3%A9", http.StatusOK}, // decoded once by the query: /café
		{"http://127.0.0.1/caf%25C3%25A9", http.StatusOK},
		{"/caf%25", http.StatusBadRequest}, // "/caf%": not an escaped path
		{"/caf%25zz", http.StatusBadRequest},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, before := send(t, http.MethodGet, front.URL+"/caf%C3%A9")
			w := httptest.NewRecorder()
			admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?path="+tc.path, nil))
			require.Equal(t, tc.code, w.Code, w.Body.String())
			_, after := send(t, http.MethodGet, front.URL+"/caf%C3%A9")
			if tc.code == http.StatusOK {
				assert.NotEqual(t, before, after, "admin answered %q but the entry is still served", strings.TrimSpace(w.Body.String()))
			} else {
				assert.Equal(t, before, after)
			}
		})
	}
}
