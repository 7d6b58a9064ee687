package caching

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFragmentKeysApart: the keys of fragments (FragmentKey, FragmentKeyIn)
// are distinct across scopes, names and values that a client may choose
// ('/', '%', '#', escapes, long values), and a fragment's key, spelled as a
// memoized function's key or a view's path, reads nothing of it.
func TestFragmentKeysApart(t *testing.T) {
	long := strings.Repeat("q", 300)
	type spec struct {
		scope, name string
		vary        []any
	}
	specs := []spec{
		{"", "a", nil}, {"", "a", []any{""}}, {"", "a", []any{"b"}}, {"", "a/b", nil},
		{"a", "b", nil}, {"a", "", nil}, {"", "", []any{"a"}}, {"a%2Fb", "c", nil},
		{"a/b", "c", nil}, {"a", "b/c", nil}, {"", "a%2Fb", nil}, {"", "a#b", nil},
		{"", "a", []any{"b", "c"}}, {"", "a", []any{"b,c"}}, {"", "a", []any{[]string{"b", "c"}}},
		{"", "a", []any{7}}, {"", "a", []any{"7"}}, {"", long, nil}, {"", long + "x", nil},
		{"", "a", []any{long}}, {"", "a", []any{long + "x"}}, {long, "a", nil},
	}
	seen := map[string]spec{}
	for _, s := range specs {
		k, err := FragmentKeyIn(s.scope, s.name, s.vary...)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("FragmentKeyIn(%q, %q, %v) = FragmentKeyIn(%q, %q, %v) = %q", s.scope, s.name, s.vary, prev.scope, prev.name, prev.vary, k)
		}
		seen[k] = s
	}

	c := Must(nil)
	defer c.Close()
	ctx := context.Background()
	key, err := FragmentKey("sidebar", "alice")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "<p>alice's orders</p>"
	if _, err := c.Fragment(ctx, key, time.Minute, func(w io.Writer) error { _, err := io.WriteString(w, secret); return err }); err != nil {
		t.Fatal(err)
	}
	m := Memoize(c, "f", func(_ context.Context, s string) (string, error) { return "computed", nil },
		KeyFunc(func(s string) string { return s }))
	if got, err := m.Get(ctx, key); err != nil || got != "computed" {
		t.Errorf("Memoize keyed %q = %q, %v: want its own result", key, got, err)
	}
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "page")
	}))
	for _, p := range []string{"/" + key, "/" + strings.ReplaceAll(key, "/", "%2F")} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Body.String() != "page" {
			t.Errorf("GET %s = %q: want the handler's page", p, w.Body.String())
		}
	}
}
