package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
)

// errorLog is a slog.Handler that keeps the messages of the records at
// WARN and above (every level with all), but for the slow-query log.
type errorLog struct {
	all  bool
	mu   sync.Mutex
	msgs []string
}

func (l *errorLog) Enabled(_ context.Context, level slog.Level) bool {
	return l.all || level >= slog.LevelWarn
}

func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "pool: slow query") {
		return nil // a loaded machine's, whatever the request
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, b.String())
	return nil
}

func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

// take returns the messages kept so far and forgets them.
func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	msgs := l.msgs
	l.msgs = nil
	return msgs
}

// TestClientLeftIsNoServerError: a request whose client hung up while it
// was served (its context cancelled, as net/http does when the connection
// closes) failed in its next query with "context canceled", and fail
// logged that at ERROR ("request failed"), as a database error, with no
// rate limit (POST /api/reports also warned that the kept report was
// unreadable): any client that sent requests and closed its connections at
// once had nearly each of them logged at ERROR (386 of 400 against the
// running demo), flooding the log and whatever alerts on it. A client
// leaving is no error of the service, nor a sign of one: it is logged at
// DEBUG.
func TestClientLeftIsNoServerError(t *testing.T) {
	for _, setup := range []struct{ name, database, cacheURL string }{
		{"sqlite, in-process cache", "sqlite", "simple://"},
		{"postgres, redis", "postgres", "redis://" + testutil.RedisAddr(t) + "/0?prefix=" + uniqueName("catalog-test:")},
	} {
		t.Run(setup.name, func(t *testing.T) {
			log := &errorLog{}
			c := startServiceWith(t, setup.database, setup.cacheURL, func(cfg *Config) {
				cfg.WarmEvery, cfg.PurgeEvery = 0, 0
				cfg.Logger = slog.New(log)
			})
			log.take() // the start's
			for _, tc := range []struct{ method, path, body string }{
				{"GET", "/api/stats/7?period=yearly", ""},
				{"GET", "/api/tasks/1", ""},
				{"GET", "/?page=2", ""},
				{"GET", "/products/42", ""},
				{"GET", "/products?page=2", ""},
				{"POST", "/api/sales", `{"user_id": 7, "amount": 10}`},
				{"POST", "/api/orders", `{"user_id": 7, "product_id": 3, "quantity": 1}`},
				{"POST", "/api/reports", `{"user_id": 7, "month": "2026-11"}`},
				{"POST", "/products", `{"name": "Teapot", "price": 19.5, "category_id": 4}`},
				{"PUT", "/products/42", `{"price": 1}`},
				{"DELETE", "/products/43", ""},
			} {
				t.Run(tc.method+" "+tc.path, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					cancel() // the client has gone by the time the handler runs
					r := httptest.NewRequestWithContext(ctx, tc.method, tc.path, strings.NewReader(tc.body))
					r.RemoteAddr = "192.0.2.1:1234"
					if tc.body != "" {
						r.Header.Set("Content-Type", "application/json")
					}
					w := httptest.NewRecorder()
					c.svc.Handler.ServeHTTP(w, r)
					assert.Empty(t, log.take(), "a request whose client left, answered %d, is logged at WARN or ERROR", w.Code)
				})
			}
		})
	}
}
