package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statsGateLock is the advisory lock the test holds to stop a read of the
// sales table after its snapshot is taken (see gateSales).
const statsGateLock = 4242

// gateSales turns the table sales of the database at url into a view of
// it whose rows each wait for the advisory lock statsGateLock: a query of
// the sales, which takes its snapshot when it starts, waits there while
// the test holds the lock, and sees none of the sales recorded meanwhile.
// It returns a connection for the test to hold the lock with.
func gateSales(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	for _, q := range []string{
		`CREATE FUNCTION sales_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
		BEGIN
			PERFORM pg_advisory_lock_shared(` + fmt.Sprint(statsGateLock) + `);
			PERFORM pg_advisory_unlock_shared(` + fmt.Sprint(statsGateLock) + `);
			RETURN true;
		END $$`,
		`ALTER TABLE sales RENAME TO sales_rows`,
		`CREATE VIEW sales AS SELECT * FROM sales_rows WHERE sales_gate()`,
		`ALTER VIEW sales ALTER COLUMN id SET DEFAULT nextval(pg_get_serial_sequence('sales_rows', 'id'))`,
	} {
		_, err := conn.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	return conn
}

// TestStatsSaleInAnotherProcess: two instances of the service share the
// database and a Redis cache, as the web and worker processes of the
// production layout do. Instance A misses a user's statistics and reads
// the sales; meanwhile the user's sale is recorded through instance B,
// which forgot the statistics; then A stored what it read. Forget only
// stops the computations of its own process, so A's result, made before
// the sale, was stored after B's Forget and served by both instances for
// the statistics' whole TTL (10 minutes) without the sale. (The warm
// job's Refresh in a -worker process raced a sale in a web process the
// same way.) The statistics are now tagged by user (ArgTags), and the sale
// invalidates the tag, which reaches a computation in any process.
func TestStatsSaleInAnotherProcess(t *testing.T) {
	dbURL := postgresURL(t)
	cacheURL := "redis://" + testutil.RedisAddr(t) + "/0?prefix=" + uniqueName("catalog-test:")
	sameDB := func(cfg *Config) { cfg.DatabaseURL = dbURL }
	a := startServiceWith(t, "", cacheURL, sameDB)
	b := startServiceWith(t, "", cacheURL, sameDB)
	gate := gateSales(t, dbURL)
	ctx := context.Background()

	const period = "yearly"
	// How A reads the statistics: a client's GET, or the warm job's
	// Refresh (A is then a -worker process).
	readers := map[string]func(user int64) (SalesStats, error){
		"GET": func(user int64) (SalesStats, error) {
			var s SalesStats
			resp, err := http.Get(fmt.Sprintf("%s/api/stats/%d?period=%s", a.base, user, period))
			if err != nil {
				return s, err
			}
			defer resp.Body.Close()
			return s, json.NewDecoder(resp.Body).Decode(&s)
		},
		"warm job": func(user int64) (SalesStats, error) {
			return a.svc.api.stats.Refresh(ctx, statsArgs{UserID: user, Period: period})
		},
	}
	user := int64(8)
	for name, read := range readers {
		user++
		t.Run(name, func(t *testing.T) {
			before, err := a.svc.Store.Stats(ctx, user, period)
			require.NoError(t, err)
			require.Positive(t, before.Orders)

			// A's read of the sales waits, its snapshot taken, for the lock.
			_, err = gate.Exec(ctx, `SELECT pg_advisory_lock($1)`, statsGateLock)
			require.NoError(t, err)
			type result struct {
				s   SalesStats
				err error
			}
			done := make(chan result, 1)
			go func() {
				s, err := read(user)
				done <- result{s, err}
			}()
			waitFor(t, func() string {
				var n int
				require.NoError(t, gate.QueryRow(ctx, `SELECT COUNT(*) FROM pg_locks
					WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, statsGateLock).Scan(&n))
				if n == 0 {
					return "instance A to be reading the sales"
				}
				return ""
			})

			// The sale, through B: recorded, and the user's tag invalidated.
			b.post("/api/sales", fmt.Sprintf(`{"user_id": %d, "amount": 50}`, user), http.StatusCreated)

			// A's read ends: it has what it read before the sale (it began
			// before it), and stores it.
			_, err = gate.Exec(ctx, `SELECT pg_advisory_unlock($1)`, statsGateLock)
			require.NoError(t, err)
			select {
			case r := <-done:
				require.NoError(t, r.err)
				assert.Equal(t, before.Orders, r.s.Orders, "A's read began before the sale")
			case <-time.After(testDeadline):
				t.Fatal("A's read of the statistics did not end")
			}

			// Every read that begins after the sale counts it, on either
			// instance.
			for name, c := range map[string]*client{"A": a, "B": b} {
				assert.Equal(t, before.Orders+1, c.stats(user, period).Orders,
					"instance %s serves statistics made before the sale, stored after it was forgotten", name)
			}
		})
	}
}

// TestStatsMadeUpUsers: every user id asked for had its statistics stored
// for 10 minutes, sales or none, so a client asking for made-up users
// (/api/stats/1000000, /api/stats/1000001, ...) added an entry per
// request: without bound on Redis, and on the in-process store (100,000
// entries by default) evicting the pages it serves. Statistics with no
// sales are now not stored (StoreIf): a user with none costs one indexed
// query per read, and a made-up id nothing in the cache.
func TestStatsMadeUpUsers(t *testing.T) {
	const room = 100
	c := startService(t, "sqlite", fmt.Sprintf("simple://?max_entries=%d", room))
	c.get("/products/1", http.StatusOK)
	require.Equal(t, "HIT", c.get("/products/1", http.StatusOK).header.Get("X-Cache"))
	before := c.svc.Cache.Stats().Entries

	for i := range 3 * room {
		assert.Zero(t, c.stats(int64(1_000_000+i), "weekly").Orders)
	}

	assert.Equal(t, "HIT", c.get("/products/1", http.StatusOK).header.Get("X-Cache"),
		"statistics of made-up users evicted a product page")
	assert.LessOrEqual(t, c.svc.Cache.Stats().Entries-before, int64(2),
		"%d reads of made-up users' statistics added entries", 3*room)

	// A user with sales is memoized as before.
	c.stats(5, "yearly")
	queries := c.queries()
	c.stats(5, "yearly")
	assert.Equal(t, queries, c.queries(), "memoized stats ran SQL")
}
