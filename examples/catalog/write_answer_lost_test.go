package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangUpKey holds the cancel func of a request's context (lostAnswerDB).
type hangUpKey struct{}

// lostAnswerDB is the service's pool, with one fault, once armed: the next
// statement that writes a product or a sale runs to its end (it commits:
// SQLite and PostgreSQL autocommit it), and then its caller gets an error
// in place of its answer. With hangUp, the client of the request hangs up
// at that moment (its context is cancelled, as net/http does when the
// connection closes) and the error is the context's; without, the
// database's connection broke while the answer was read.
type lostAnswerDB struct {
	sqlDB
	armed  atomic.Bool
	hangUp bool
}

// errConnReset is the error of a connection that broke.
var errConnReset = errors.New("read tcp 127.0.0.1:5432: connection reset by peer")

func (d *lostAnswerDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if !d.hits(q) {
		return d.sqlDB.ExecContext(ctx, q, args...)
	}
	if _, err := d.sqlDB.ExecContext(context.WithoutCancel(ctx), q, args...); err != nil {
		return nil, err
	}
	return nil, d.lose(ctx)
}

func (d *lostAnswerDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !d.hits(q) {
		return d.sqlDB.QueryContext(ctx, q, args...)
	}
	rows, err := d.sqlDB.QueryContext(context.WithoutCancel(ctx), q, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() { // RETURNING: every row read, the statement done
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return nil, d.lose(ctx)
}

// hits reports whether q is the statement to fault, and disarms.
func (d *lostAnswerDB) hits(q string) bool {
	q = strings.TrimSpace(q)
	for _, w := range []string{"UPDATE products", "INSERT INTO products", "DELETE FROM products", "INSERT INTO sales"} {
		if strings.HasPrefix(q, w) {
			return d.armed.CompareAndSwap(true, false)
		}
	}
	return false
}

// lose returns the error the caller of a statement that committed gets.
func (d *lostAnswerDB) lose(ctx context.Context) error {
	if !d.hangUp {
		return errConnReset
	}
	ctx.Value(hangUpKey{}).(context.CancelFunc)()
	return ctx.Err()
}

// startLostAnswer starts a service on SQLite whose pool is a lostAnswerDB
// (hangUp as given), behind a server whose requests can be hung up.
func startLostAnswer(t *testing.T, hangUp bool) (*client, *lostAnswerDB) {
	cfg := Config{
		CacheURL:   "simple://",
		Seed:       testSeed,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"),
	}
	svc, err := NewService(context.Background(), cfg)
	require.NoError(t, err)
	db := &lostAnswerDB{sqlDB: svc.Store.db, hangUp: hangUp}
	svc.Store.db = db
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		svc.Handler.ServeHTTP(w, r.WithContext(context.WithValue(ctx, hangUpKey{}, context.CancelFunc(cancel))))
	}))
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, svc.Close())
	})
	return &client{t: t, base: srv.URL, svc: svc}, db
}

// TestWriteInvalidatedWhenItsAnswerIsLost: a write whose statement
// committed, but whose answer the handler did not get (the client hung up
// right after it, or the database's connection broke), was answered 500
// before any invalidation, and InvalidateOnWrite drops nothing after a
// 500: every other client was served the product from before the write for
// a minute, and the list pages for five (a sale: the statistics without it
// for ten). The write's outcome is unknown to the handler, so it
// invalidates as for a success, with a context the client's leaving does
// not end; and a product's write returns its row in the statement itself
// (RETURNING), so that no second query can fail after the commit.
func TestWriteInvalidatedWhenItsAnswerIsLost(t *testing.T) {
	for _, fault := range []struct {
		name   string
		hangUp bool
	}{{"client hangs up", true}, {"connection breaks", false}} {
		t.Run(fault.name, func(t *testing.T) {
			t.Run("PUT", func(t *testing.T) {
				c, db := startLostAnswer(t, fault.hangUp)
				var before Product
				c.get("/products/42", http.StatusOK).json(t, &before)
				require.Equal(t, "HIT", c.get("/products/42", http.StatusOK).header.Get("X-Cache"))
				c.get("/products?page=3", http.StatusOK) // products 41 to 60
				require.Equal(t, "HIT", c.get("/products?page=3", http.StatusOK).header.Get("X-Cache"))

				newPrice := before.Price + 1
				db.armed.Store(true)
				r := c.do("PUT", "/products/42", `{"price": `+strconv.FormatFloat(newPrice, 'f', -1, 64)+`}`)
				require.False(t, db.armed.Load(), "the fault did not fire")
				assert.Equal(t, http.StatusInternalServerError, r.status, "%s", r.body)
				got, err := c.svc.Store.GetProduct(context.Background(), 42)
				require.NoError(t, err)
				require.Equal(t, newPrice, got.Price, "the UPDATE did not commit: the test proves nothing")

				var one Product
				resp := c.get("/products/42", http.StatusOK)
				resp.json(t, &one)
				assert.Equal(t, newPrice, one.Price, "GET /products/42 (X-Cache: %s) serves the price from before a committed update", resp.header.Get("X-Cache"))
				var page Page
				resp = c.get("/products?page=3", http.StatusOK)
				resp.json(t, &page)
				assert.Equal(t, newPrice, page.Products[1].Price, "GET /products?page=3 (X-Cache: %s) serves the price from before a committed update", resp.header.Get("X-Cache"))
			})
			t.Run("POST", func(t *testing.T) {
				c, db := startLostAnswer(t, fault.hangUp)
				c.get("/products?page=1", http.StatusOK)
				require.Equal(t, "HIT", c.get("/products?page=1", http.StatusOK).header.Get("X-Cache"))

				db.armed.Store(true)
				r := c.do("POST", "/products", `{"name":"Teapot","price":19.5,"category_id":4}`)
				require.False(t, db.armed.Load(), "the fault did not fire")
				assert.Equal(t, http.StatusInternalServerError, r.status, "%s", r.body)
				require.Equal(t, testSeed+1, c.count(`SELECT COUNT(*) FROM products`), "the INSERT did not commit: the test proves nothing")

				var page Page
				resp := c.get("/products?page=1", http.StatusOK)
				resp.json(t, &page)
				assert.Equal(t, testSeed+1, page.Total, "GET /products (X-Cache: %s) does not count a committed product", resp.header.Get("X-Cache"))
			})
			t.Run("DELETE", func(t *testing.T) {
				c, db := startLostAnswer(t, fault.hangUp)
				c.get("/products/42", http.StatusOK)
				require.Equal(t, "HIT", c.get("/products/42", http.StatusOK).header.Get("X-Cache"))
				c.get("/products?page=3", http.StatusOK)
				require.Equal(t, "HIT", c.get("/products?page=3", http.StatusOK).header.Get("X-Cache"))

				db.armed.Store(true)
				r := c.do("DELETE", "/products/42", "")
				require.False(t, db.armed.Load(), "the fault did not fire")
				assert.Equal(t, http.StatusInternalServerError, r.status, "%s", r.body)
				require.Equal(t, 0, c.count(`SELECT COUNT(*) FROM products WHERE id = 42`), "the DELETE did not commit: the test proves nothing")

				resp := c.do("GET", "/products/42", "")
				assert.Equal(t, http.StatusNotFound, resp.status, "GET /products/42 (X-Cache: %s) serves a product a committed DELETE removed", resp.header.Get("X-Cache"))
				var page Page
				resp = c.get("/products?page=3", http.StatusOK)
				resp.json(t, &page)
				assert.Equal(t, int64(43), page.Products[1].ID, "GET /products?page=3 (X-Cache: %s) lists a product a committed DELETE removed", resp.header.Get("X-Cache"))
			})
			t.Run("sale", func(t *testing.T) {
				c, db := startLostAnswer(t, fault.hangUp)
				c.post("/api/sales", `{"user_id": 7, "amount": 10}`, http.StatusCreated)
				before := c.stats(7, "yearly") // counts a sale: stored
				queries := c.queries()
				require.Equal(t, before, c.stats(7, "yearly"))
				require.Equal(t, queries, c.queries(), "the statistics are not cached: the test proves nothing")

				db.armed.Store(true)
				r := c.do("POST", "/api/sales", `{"user_id": 7, "amount": 25}`)
				require.False(t, db.armed.Load(), "the fault did not fire")
				assert.Equal(t, http.StatusInternalServerError, r.status, "%s", r.body)
				require.Equal(t, 1, c.count(`SELECT COUNT(*) FROM sales WHERE user_id = 7 AND amount = 25`), "the INSERT did not commit: the test proves nothing")

				assert.Equal(t, before.Orders+1, c.stats(7, "yearly").Orders, "the statistics from before a committed sale are served")
			})
		})
	}
}
