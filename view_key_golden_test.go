package caching_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// viewKeyCases are requests and view options whose keys are pinned by
// TestViewKeyGolden: a view key is a backend key, so that its format must
// not change within a release line (entries written by one process are
// read by the next).
var viewKeyCases = []struct {
	name   string
	target string
	host   string
	tls    bool
	opts   []caching.ViewOption
	want   string
}{
	{name: "plain", target: "/products?page=1"},
	{name: "host as sent", target: "/p", host: "Example.COM:80"},
	{name: "other port", target: "/p", host: "example.com:8080"},
	{name: "tls and its default port", target: "/p", host: "example.com:443", tls: true},
	{name: "escapes in host", target: "/p", host: "a#b%c"},
	{name: "no host", target: "/p", host: "-"},
	{name: "ignore host", target: "/p?b=2&a=1", opts: []caching.ViewOption{caching.IgnoreHost()}},
	{name: "query sorted", target: "/p?b=2&a=1"},
	{name: "query escapes", target: "/p?q=a+b&r=%2F"},
	{name: "query invalid", target: "/p?a=%zz"},
	{name: "query filtered", target: "/p?utm_x=1&a=1", opts: []caching.ViewOption{caching.QueryString(caching.QueryKeyOptions{Ignore: []string{"utm_*"}})}},
	{name: "path only", target: "/p?a=1", opts: []caching.ViewOption{caching.PathOnly()}},
	{name: "escaped path", target: "/a%20b/c%2Fd"},
	{name: "raw path invalid", target: "/files/x|y%2Fz"},
	{name: "key format", target: "/p?a=1", opts: []caching.ViewOption{caching.KeyFormat("list:%s:end")}},
	{name: "key format without path", target: "/p?a=1", opts: []caching.ViewOption{caching.KeyFormat("all")}},
	{name: "key func", target: "/p?a=1", opts: []caching.ViewOption{caching.KeyFunc(func(r *http.Request) string { return "k:" + r.URL.Path })}},
	{name: "key func escaped", target: "/p?d=1%23u%3Dalice", opts: []caching.ViewOption{caching.KeyFunc(func(r *http.Request) string { return "d/" + r.URL.Query().Get("d") })}},
	{name: "key format escaped", target: "/p", opts: []caching.ViewOption{caching.KeyFormat("a#u=b%s")}},
	{name: "version", target: "/p", opts: []caching.ViewOption{caching.Version("2#x%y")}},
	{name: "user", target: "/p", opts: []caching.ViewOption{caching.UserKey(func(*http.Request) string { return "u#1%" })}},
	{name: "long path", target: "/" + strings.Repeat("x", 300)},
	{name: "long query", target: "/p?q=" + strings.Repeat("y", 190)},
}

// TestViewKeyGolden pins the view keys of viewKeyCases.
func TestViewKeyGolden(t *testing.T) {
	c := caching.Must(&caching.Options{KeyPrefix: "app:"})
	t.Cleanup(func() { _ = c.Close() })
	for _, tt := range viewKeyCases {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			switch tt.host {
			case "":
			case "-":
				r.Host = ""
			default:
				r.Host = tt.host
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			key, err := c.ViewKey(r, tt.opts...)
			require.NoError(t, err)
			assert.Equal(t, viewKeyGolden[tt.name], key)
		})
	}
}

// viewKeyGolden are the keys of viewKeyCases, as the release that pinned
// them built them. KeyFunc keys changed once since, marked "#k=" so that no
// KeyFunc result can spell another view's key: the KeyFunc entries stored
// by a release before miss once.
var viewKeyGolden = map[string]string{
	"plain":                    "app:v/http://example.com#view//products?page=1",
	"host as sent":             "app:v/http://Example.COM:80#view//p",
	"other port":               "app:v/http://example.com:8080#view//p",
	"tls and its default port": "app:v/https://example.com:443#view//p",
	"escapes in host":          "app:v/http://a%23b%25c#view//p",
	"no host":                  "app:v/http://#view//p",
	"ignore host":              "app:v/view//p?a=1&b=2",
	"query sorted":             "app:v/http://example.com#view//p?a=1&b=2",
	"query escapes":            "app:v/http://example.com#view//p?q=a+b&r=%2F",
	"query invalid":            "app:v/http://example.com#view//p?!a%3D%25zz",
	"query filtered":           "app:v/http://example.com#view//p?a=1",
	"path only":                "app:v/http://example.com#view//p",
	"escaped path":             "app:v/http://example.com#view//a%20b/c%2Fd",
	"raw path invalid":         "app:v/http://example.com#view//files/x%7Cy/z#r=/files/x|y%252Fz",
	"key format":               "app:v/http://example.com#list:/p:end?a=1",
	"key format without path":  "app:v/http://example.com#all?a=1",
	"key func":                 "app:v/http://example.com##k=k:/p",
	"key func escaped":         "app:v/http://example.com##k=d/1%23u=alice",
	"key format escaped":       "app:v/http://example.com#a%23u=b/p",
	"version":                  "app:v/http://example.com#view//p#v=2%23x%25y",
	"user":                     "app:v/http://example.com#view//p#u=u%231%25",
	"long path":                "app:v/#http://example.com#view//xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx#Hn_bpLoXrCxFytjxf8nQeYmyFmkKzvggpwzf5TO9Q2Q",
	"long query":               "app:v/#http://example.com#view//p?q=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy#uXmSLQIFhk2WPQRnYmMnIniElMtwoz3qxady8F2LlXg",
}
