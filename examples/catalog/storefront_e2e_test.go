package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's Chromium (apt-get install chromium), which the
// browser test drives; CHROMIUM overrides it.
const chromiumPath = "/usr/bin/chromium"

// browserTools returns the Chromium and node the browser test runs, and the
// folder of its script, or skips the test (fails it in CI) saying what is
// missing and how to install it.
func browserTools(t *testing.T) (chromium, node, dir string) {
	t.Helper()
	dir, err := filepath.Abs("e2e")
	require.NoError(t, err)
	chromium = cmp.Or(os.Getenv("CHROMIUM"), chromiumPath)
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install chromium)")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (npm ci --prefix examples/catalog/e2e)")
	}
	if len(missing) > 0 {
		msg := "the browser test needs " + strings.Join(missing, ", ")
		if testutil.InCI() {
			t.Fatal(msg + " (CI=true, so this is a failure; .ci/run installs them)")
		}
		t.Skip(msg + "; skipping")
	}
	return chromium, node, dir
}

// offers reports whether the Accept-Encoding acceptEncoding offers coding
// (names it, with a q-value above 0).
func offers(acceptEncoding, coding string) bool {
	for _, item := range strings.Split(acceptEncoding, ",") {
		name, params, _ := strings.Cut(item, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q, _ = strconv.ParseFloat(v, 64)
		}
		if strings.EqualFold(strings.TrimSpace(name), coding) && q > 0 {
			return true
		}
	}
	return false
}

// seen is one request for the storefront as the server saw it.
type seen struct {
	ifNoneMatch, acceptEncoding string
	status                      int
}

// seeing records the requests for "/" that reach h, and the status of each.
type seeing struct {
	mu   sync.Mutex
	reqs []seen
}

func (s *seeing) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.reqs = append(s.reqs, seen{r.Header.Get("If-None-Match"), r.Header.Get("Accept-Encoding"), sw.status})
	})
}

func (s *seeing) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// statusWriter records the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// browserLoad is what storefront.mjs reports of one load of the page.
type browserLoad struct {
	How             string            `json:"how"`
	Status          int               `json:"status"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	ResponseHeaders map[string]string `json:"responseHeaders"`
	Type            string            `json:"type"`
	TransferSize    int               `json:"transferSize"`
	EncodedBodySize int               `json:"encodedBodySize"`
	DecodedBodySize int               `json:"decodedBodySize"`
	ServerTiming    []struct {
		Name        string  `json:"name"`
		Description string  `json:"description"`
		Duration    float64 `json:"duration"`
	} `json:"serverTiming"`
	Title    string `json:"title"`
	Products []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"products"`
	Categories int `json:"categories"`
}

// timing returns the description of the navigation's Server-Timing metric
// name, and whether there is one.
func (l browserLoad) timing(name string) (string, bool) {
	for _, m := range l.ServerTiming {
		if m.Name == name {
			return m.Description, true
		}
	}
	return "", false
}

// TestStorefrontInChromium loads the storefront in headless Chromium (a
// visit, then two reloads) and checks what a browser user gets: the page
// with its products; on reload, a revalidation with If-None-Match answered
// 304 (or the page from the browser's cache); the HTML compressed in a
// coding Chromium offers; and the cache's and the database's work in the
// page's own performance.getEntriesByType("navigation")[0].serverTiming.
func TestStorefrontInChromium(t *testing.T) {
	chromium, node, dir := browserTools(t)
	svc, err := NewService(context.Background(), Config{
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: testSeed, CacheURL: "simple://",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	var server seeing
	srv := httptest.NewServer(server.wrap(svc.Handler)) // 127.0.0.1, a free port
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, svc.Close())
	})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "storefront.mjs", srv.URL+"/")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "storefront.mjs: %s", stderr.String())
	var got struct {
		Browser string        `json:"browser"`
		Loads   []browserLoad `json:"loads"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got), "%s", stdout.String())
	require.Len(t, got.Loads, 3)
	t.Logf("Chromium %s", got.Browser)
	visit, hit, revalidated := got.Loads[0], got.Loads[1], got.Loads[2]

	// The page renders with its products, each load.
	want, err := svc.Store.ListProducts(context.Background(), 1, storefrontPerPage)
	require.NoError(t, err)
	for i, l := range got.Loads {
		assert.Equal(t, "All products · Catalog", l.Title, "load %d", i)
		require.Len(t, l.Products, len(want.Products), "load %d", i)
		for j, p := range l.Products {
			assert.Equal(t, want.Products[j].ID, p.ID, "load %d", i)
			assert.Equal(t, want.Products[j].Name, p.Name, "load %d", i)
		}
		assert.Equal(t, len(categoryNames)+1, l.Categories, "load %d: the sidebar", i)
	}

	// The HTML arrives compressed, in a coding Chromium offered.
	assert.Equal(t, http.StatusOK, visit.Status)
	coding := visit.ResponseHeaders["content-encoding"]
	offered := visit.RequestHeaders["accept-encoding"]
	assert.NotEmpty(t, coding, "the page arrived uncompressed")
	assert.True(t, offers(offered, coding), "%q is not one of %q", coding, offered)
	assert.Less(t, visit.EncodedBodySize, visit.DecodedBodySize, "the body did not arrive compressed")

	// The page's own navigation entry shows what the cache and the
	// database did: a miss that ran queries, then a hit that ran none.
	assert.Equal(t, "navigate", visit.Type)
	desc, _ := visit.timing("cache")
	assert.Equal(t, "miss", desc)
	desc, ok := visit.timing("db")
	assert.True(t, ok, "no db entry in %+v", visit.ServerTiming)
	assert.Regexp(t, `^[0-9]+ queries?$`, desc)
	desc, _ = visit.timing("sidebar")
	assert.Equal(t, "miss", desc)
	desc, _ = visit.timing("compress")
	assert.Equal(t, coding, desc)
	desc, _ = hit.timing("cache")
	assert.Equal(t, "hit", desc)
	_, ok = hit.timing("db")
	assert.False(t, ok, "a hit ran queries: %+v", hit.ServerTiming)
	etag := hit.ResponseHeaders["etag"]
	require.NotEmpty(t, etag, "a hit has an ETag")

	// The second reload revalidates with If-None-Match and gets a 304,
	// or is served from the browser's cache without asking.
	assert.Equal(t, "reload", revalidated.Type)
	reqs := server.requests()
	require.GreaterOrEqual(t, len(reqs), 2)
	if len(reqs) == 3 {
		last := reqs[2]
		assert.Equal(t, etag, last.ifNoneMatch, "the reload did not revalidate with the ETag")
		assert.Equal(t, http.StatusNotModified, last.status)
		assert.Equal(t, etag, revalidated.RequestHeaders["if-none-match"])
		assert.Less(t, revalidated.TransferSize, revalidated.EncodedBodySize, "the body was sent again")
		desc, _ = revalidated.timing("cache")
		assert.Equal(t, "hit", desc)
	} else {
		assert.Zero(t, revalidated.TransferSize, "not from the browser's cache, but no request reached the server")
	}
	for i, r := range reqs {
		assert.Equal(t, offered, r.acceptEncoding, "request %d", i)
	}
	assert.Equal(t, []int{http.StatusOK, http.StatusOK}, []int{reqs[0].status, reqs[1].status})
}
