package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// Options.Timeout "bounds each backend call made by the response cache
// ... so that a slow backend costs a call at most this long before the
// request is served uncached", with a Store on the program's own go-redis
// client too. A client without ContextTimeoutEnabled ignored the context's
// deadline (its reads waited ReadTimeout, per try): a request against a
// Redis that accepts connections and never answers took 5 s with Timeout
// 200ms. redisstore.New now refuses such a client
// (TestNewRefusesClientThatIgnoresContextDeadlines); with
// ContextTimeoutEnabled the request is served within a few Timeouts.
func TestRedisUserClientHonoursTimeout(t *testing.T) {
	srv := testutil.StartProxy(t, "", testutil.ProxyOptions{}) // a hung server: accepts, reads, never answers
	// ReadTimeout a minute: a call its context did not bound would wait that
	// long, far past the bound below.
	client := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, ReadTimeout: time.Minute})
	defer client.Close()
	b, err := redisstore.New(redisstore.Options{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(&Options{Backend: b, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/page", nil))
	took := time.Since(start)
	if rec.Code != 200 || rec.Body.String() != "hello" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	// A miss makes a few calls (the entry's read, the store): each is bounded
	// by Timeout; a hung backend costs one (then the request is served as for
	// a backend down). 20 s is a hundred Timeouts, a third of the wait of a
	// call the Timeout did not bound.
	if took > 20*time.Second {
		t.Errorf("the request took %v against a hung Redis with Options.Timeout 200ms", took)
	}
}
