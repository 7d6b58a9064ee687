package pool_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/pool"
)

// The Flask-SQLAlchemy settings SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10,
// "max_overflow": 5, "pool_timeout": 3, "pool_recycle": 1800,
// "pool_pre_ping": True} become:
func ExampleOpenDB() {
	pc, err := pgx.ParseConfig("postgres://app@127.0.0.1:5432/app")
	if err != nil {
		panic(err)
	}
	db, err := pool.OpenDB(stdlib.GetConnector(*pc), pool.Config{
		Size: 10, MaxOverflow: 5, Timeout: 3 * time.Second,
		Recycle: 30 * time.Minute, PrePing: true,
	}, pool.SQLOptions{Logger: slog.Default(), SlowQuery: 500 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer db.Close()

	handler := func(w http.ResponseWriter, r *http.Request) {
		var n int
		err := db.QueryRowContext(r.Context(), `SELECT count(*) FROM products`).Scan(&n)
		switch {
		case errors.Is(err, pool.ErrPoolTimeout): // every connection busy for Timeout
			http.Error(w, "busy, try again", http.StatusServiceUnavailable)
			return
		case err != nil:
			slog.ErrorContext(r.Context(), "count products", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, n)
	}
	_ = handler
	fmt.Println(db.Config().MaxOpen(), "connections at most")
	// Output: 15 connections at most
}

func ExampleConfig_Validate() {
	err := pool.Config{Recycle: time.Minute, RecycleJitter: 2 * time.Minute}.Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, pool.ErrInvalidOption))
	// Output:
	// pool: invalid option: RecycleJitter 2m0s exceeds Recycle 1m0s (want 0 <= RecycleJitter <= Recycle)
	// true
}

func ExampleApplyRedis() {
	opts := &redis.Options{Addr: "127.0.0.1:6379"}
	if err := pool.ApplyRedis(opts, pool.Config{Size: 20, MaxOverflow: pool.NoOverflow, Timeout: time.Second}); err != nil {
		panic(err)
	}
	fmt.Println(opts.PoolSize, opts.MaxActiveConns, opts.PoolTimeout)
	// Output: 20 20 1s
}

func ExampleStrip() {
	fmt.Println(pool.Strip(`SELECT * FROM users WHERE email = 'ann@example.com' AND age > 30 -- adults`, 0))
	// Output: SELECT * FROM users WHERE email = ? AND age > ?
}

func ExampleNewHandler() {
	var reg pool.Registry
	// db from OpenDB: reg.RegisterSQL("postgres", db)
	// rdb a *redis.Client: reg.RegisterRedis("redis", rdb, cfg)
	_ = reg.Register("cache", func() any { return map[string]int{"hits": 12, "misses": 3} })

	h, err := pool.NewHandler(&reg, pool.HandlerOptions{Authorize: pool.LoopbackOnly})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	// No method in the pattern: the handler answers 405 itself, after
	// Authorize, so a refused client gets 403 whatever its method.
	mux.Handle("/admin/pool-stats", h)

	_, err = pool.NewHandler(&reg, pool.HandlerOptions{})
	fmt.Println(err)
	// Output: pool: NewHandler: Authorize is required (use pool.LoopbackOnly or a check of your own)
}

// LoopbackHost checks the Host alone, whoever the peer is: the check
// against DNS rebinding for an Authorize of your own (a token a proxy
// adds, say) or for the writes of a service on loopback.
func ExampleLoopbackHost() {
	for _, host := range []string{"localhost:8080", "Shop.localhost.", "127.0.0.1", "[::1]:8080", "[::ffff:127.0.0.1]",
		"attacker.example:8080", "localhost.attacker.example", "::1", "[127.0.0.1]", ""} {
		fmt.Printf("%-28q %v\n", host, pool.LoopbackHost(host))
	}
	// Output:
	// "localhost:8080"             true
	// "Shop.localhost."            true
	// "127.0.0.1"                  true
	// "[::1]:8080"                 true
	// "[::ffff:127.0.0.1]"         true
	// "attacker.example:8080"      false
	// "localhost.attacker.example" false
	// "::1"                        false
	// "[127.0.0.1]"                false
	// ""                           false
}
