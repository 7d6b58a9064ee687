package main

// store.go: every SQL statement of the service. The Store knows nothing of
// HTTP or caching; it counts the queries it runs so that the pool-stats
// endpoint and the before/after comparison can show how many the cache saved.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Product is one row of the catalog, as the API shows it.
type Product struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Price      float64   `json:"price"`
	CategoryID int64     `json:"category_id"`
	Category   string    `json:"category"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Page is one page of the product list.
type Page struct {
	Products []Product `json:"products"`
	Total    int       `json:"total"`
	Page     int       `json:"page"`
	Pages    int       `json:"pages"`
	PerPage  int       `json:"per_page"`
	HasNext  bool      `json:"has_next"`
	HasPrev  bool      `json:"has_prev"`
}

// SalesStats is a user's sales over a period.
type SalesStats struct {
	UserID  int64   `json:"user_id"`
	Period  string  `json:"period"`
	Total   float64 `json:"total"`
	Orders  int     `json:"orders"`
	Average float64 `json:"average"`
}

// periods are the statistics periods the API accepts, as look-back windows.
var periods = map[string]time.Duration{
	"weekly":  7 * 24 * time.Hour,
	"monthly": 30 * 24 * time.Hour,
	"yearly":  365 * 24 * time.Hour,
}

// Errors the handlers turn into 404 and 400.
var (
	errNotFound        = errors.New("not found")
	errUnknownCategory = errors.New("unknown category_id")
	// errNoChange: an update that gives no field to change.
	errNoChange = errors.New("give at least one of name, price and category_id to change")
	// errProductGone: the product of an order was deleted before the order
	// was processed.
	errProductGone = errors.New("the product ordered no longer exists")
	// errPriceUnknown: an order stored without its price (by the version
	// before prices were recorded) whose product changed since it was
	// placed.
	errPriceUnknown = errors.New("the order has no recorded price and the product changed since the order was placed: order again")
	// errOrderTooLarge: an order whose amount, its price times its
	// quantity, is over maxAmount, the largest sale.
	errOrderTooLarge = fmt.Errorf("the order's amount (price times quantity) is over %d, the largest sale", maxAmount)
)

// querier runs statements: a connection pool or a transaction (*sql.Tx).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// sqlDB is what the Store needs from a connection pool: *sql.DB and pool/'s
// *pool.DB both have it.
type sqlDB interface {
	querier
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// Store runs the catalog's SQL on SQLite or PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db       sqlDB
	postgres bool // $1 placeholders and PostgreSQL DDL
	queries  atomic.Int64
	now      func() time.Time
	// lockTimeout is how long a statement of the migration waits for a
	// table's lock on PostgreSQL (see MigrateWith).
	lockTimeout time.Duration
}

// NewStore returns a Store over db; postgres selects the PostgreSQL dialect.
func NewStore(db sqlDB, postgres bool) *Store {
	return &Store{db: db, postgres: postgres, now: time.Now, lockTimeout: migrateLockTimeout}
}

// Queries returns how many SQL statements the Store has run.
func (s *Store) Queries() int64 { return s.queries.Load() }

// rebind turns the ? placeholders of q into $1, $2... for PostgreSQL.
func (s *Store) rebind(q string) string {
	if !s.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.queryIn(ctx, s.db, q, args...)
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.execIn(ctx, s.db, q, args...)
}

// queryOne runs q and scans its first row into dest; no row is errNotFound.
func (s *Store) queryOne(ctx context.Context, q string, args []any, dest ...any) error {
	return s.queryOneIn(ctx, s.db, q, args, dest...)
}

// queryIn, execIn and queryOneIn are query, exec and queryOne on db, which
// may be a transaction.
func (s *Store) queryIn(ctx context.Context, db querier, q string, args ...any) (*sql.Rows, error) {
	s.queries.Add(1)
	return db.QueryContext(ctx, s.rebind(q), args...)
}

func (s *Store) execIn(ctx context.Context, db querier, q string, args ...any) (sql.Result, error) {
	s.queries.Add(1)
	return db.ExecContext(ctx, s.rebind(q), args...)
}

func (s *Store) queryOneIn(ctx context.Context, db querier, q string, args []any, dest ...any) error {
	rows, err := s.queryIn(ctx, db, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errNotFound
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// Migrate creates the tables if they do not exist, adds the column an
// older database lacks and, when it has just created the tables (a new
// database), seeds n products (and four sales per product) so that the
// service has something to show on first start. It is MigrateWith with
// nothing more to migrate.
func (s *Store) Migrate(ctx context.Context, n int) error { return s.MigrateWith(ctx, n, nil) }

// Migration settings on PostgreSQL: how long a statement of the migration
// waits for a lock on a table before it fails, and how many times the
// migration is tried when it fails so (or is a deadlock's victim).
const (
	migrateLockTimeout = 3 * time.Second
	migrateAttempts    = 3
)

// MigrateWith is Migrate, all of it in one transaction, and then more (when
// not nil: the job queue's tables, see jobDatabase.migrate) before that
// transaction commits.
//
// Processes that start at once (a web process and its workers, started
// together on a fresh database) migrate one after another: the transaction
// takes a lock first, which it holds until it ends, and the next process
// then finds the tables, and seeds nothing. On
// PostgreSQL, the lock is an advisory lock of the transaction
// (pg_advisory_xact_lock): CREATE TABLE IF NOT EXISTS is no guard against
// a concurrent CREATE TABLE, which failed with `duplicate key value
// violates unique constraint "pg_type_typname_nsp_index"` (or
// "pg_class_relname_nsp_index", or `relation ... already exists`), and
// both processes seeded. On SQLite, the transaction begins IMMEDIATE (see
// openDatabase), which takes the database's write lock. A process that
// fails or dies half-way leaves nothing behind: the transaction rolls back
// and releases the lock.
//
// What the statements lock on PostgreSQL is held until the end too, while
// the jobs of the processes already running (a rolling deploy) use the
// tables. So the migration runs only the DDL a database lacks (see
// migrate): on a current database, every start but the first, it locks
// none of the catalog's tables against a write (it reads only
// PostgreSQL's catalog). What it does run waits for a table's lock at most
// s.lockTimeout (SET LOCAL lock_timeout): while the migration waits for a
// lock, every later statement on that table, writer or reader, queues
// behind it. A migration that times out so, or is the victim of a
// deadlock, or fails to serialize, rolls back and is tried again, up to
// migrateAttempts times in all; more runs again each time, so it must be
// safe to repeat (River's migration does what is left: nothing when
// current).
func (s *Store) MigrateWith(ctx context.Context, n int, more func(ctx context.Context, tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.migrateOnce(ctx, n, more)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt == migrateAttempts {
			return fmt.Errorf("%w (tried %d times, waiting at most %v for a table's lock each time: the tables are in use)",
				err, attempt, s.lockTimeout)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// retryable tells whether err is PostgreSQL's answer to a transaction that
// may succeed if tried again: a lock timeout, a deadlock, a serialization
// failure.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "55P03", // lock_not_available: lock_timeout
		"40P01", // deadlock_detected
		"40001": // serialization_failure
		return true
	}
	return false
}

// migrateOnce is one try of MigrateWith.
func (s *Store) migrateOnce(ctx context.Context, n int, more func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit: a no-op
	if err := s.migrate(ctx, tx, n); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if more != nil {
		if err := more(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrate is Migrate's work, in tx.
//
// It creates only what is missing, and looks first (exists,
// addOrderPrice): on PostgreSQL, CREATE INDEX IF NOT EXISTS takes a
// ShareLock on its table even where the index is there, which holds every
// write to the table back until the migration commits, and ALTER TABLE
// takes the table's strongest lock. What it must change, it changes in the
// order the order job (ProcessOrder) takes its locks: orders, then sales.
// In the other order, the migration holding a lock on sales and waiting
// for orders, and a job holding its order's row and then recording the
// sale, were a deadlock.
func (s *Store) migrate(ctx context.Context, tx *sql.Tx, n int) error {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.postgres {
		id = "BIGSERIAL PRIMARY KEY"
		// The lock is the schema's: services in schemas of their own on
		// one database (as the tests are) migrate at once. Its two int4
		// keys are apart from River's advisory locks, which take one
		// bigint key. It waits as long as ctx lets it: the process that
		// holds it may be seeding a new database.
		if _, err := s.execIn(ctx, tx, `SELECT pg_advisory_xact_lock(hashtext('catalog.migrate'), hashtext(COALESCE(current_schema(), '')))`); err != nil {
			return err
		}
		// A table's lock, it waits for a few seconds at most: while it
		// waits, the running processes' statements on the table queue
		// behind it (see MigrateWith).
		if _, err := s.execIn(ctx, tx, fmt.Sprintf(`SET LOCAL lock_timeout = %d`, s.lockTimeout.Milliseconds())); err != nil {
			return err
		}
	}
	created := map[string]bool{} // by this migration
	create := func(name, ddl string) error {
		ok, err := s.exists(ctx, tx, name)
		if err != nil || ok {
			return err
		}
		if _, err := s.execIn(ctx, tx, ddl); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		created[name] = true
		return nil
	}
	for _, t := range []struct{ name, ddl string }{
		{"categories", `CREATE TABLE IF NOT EXISTS categories (id ` + id + `, name TEXT NOT NULL)`},
		{"products", `CREATE TABLE IF NOT EXISTS products (id ` + id + `, name TEXT NOT NULL,
			price DOUBLE PRECISION NOT NULL, category_id BIGINT NOT NULL REFERENCES categories(id),
			updated_at BIGINT NOT NULL)`},
		// An order stays here once processed: sale_id tells that it was.
		// created_at is when it was placed, which its sale is dated;
		// price is the product's price then, which the order is charged;
		// NULL in the orders stored before it was recorded (see
		// ProcessOrder).
		{"orders", `CREATE TABLE IF NOT EXISTS orders (id ` + id + `, user_id BIGINT NOT NULL,
			product_id BIGINT NOT NULL, quantity BIGINT NOT NULL, created_at BIGINT NOT NULL, sale_id BIGINT,
			price DOUBLE PRECISION)`},
	} {
		if err := create(t.name, t.ddl); err != nil {
			return err
		}
	}
	if err := s.addOrderPrice(ctx, tx); err != nil {
		return err
	}
	// sales after orders: see above.
	if err := create("sales", `CREATE TABLE IF NOT EXISTS sales (id `+id+`, user_id BIGINT NOT NULL,
			amount DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	if err := create("sales_user", `CREATE INDEX IF NOT EXISTS sales_user ON sales (user_id, created_at)`); err != nil {
		return err
	}
	// A new database is seeded: one whose products table this migration
	// created (in this transaction, with the others). An empty products
	// table is not a new database: a shop that deleted every product was
	// seeded again at its next start, with the demo's products, its
	// categories a second time and fake sales among its real ones.
	if !created["products"] || n <= 0 {
		return nil
	}
	return s.seed(ctx, tx, n)
}

// exists tells whether the table or index name is in the database (on
// PostgreSQL, in the schema the migration creates it in: current_schema()).
// It reads the catalog only, and locks no table.
func (s *Store) exists(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	check := `SELECT COUNT(*) FROM sqlite_master WHERE name = ?`
	if s.postgres {
		check = `SELECT COUNT(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relname = ?`
	}
	var n int
	err := s.queryOneIn(ctx, tx, check, []any{name}, &n)
	return n > 0, err
}

// addOrderPrice adds the column price, in tx (which holds Migrate's lock),
// to an orders table created before it was recorded. It looks first: where
// the column is there, ALTER TABLE fails on SQLite, and takes the table's
// strongest lock on PostgreSQL even with IF NOT EXISTS.
func (s *Store) addOrderPrice(ctx context.Context, tx *sql.Tx) error {
	check := `SELECT COUNT(*) FROM pragma_table_info('orders') WHERE name = 'price'`
	if s.postgres {
		check = `SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'orders' AND column_name = 'price'`
	}
	var n int
	if err := s.queryOneIn(ctx, tx, check, nil, &n); err != nil || n > 0 {
		return err
	}
	if _, err := s.execIn(ctx, tx, `ALTER TABLE orders ADD COLUMN price DOUBLE PRECISION`); err != nil {
		return fmt.Errorf("add the column orders.price: %w", err)
	}
	return nil
}

var categoryNames = []string{"Books", "Music", "Garden", "Kitchen", "Toys", "Sports", "Tools", "Games", "Office", "Outdoors"}
var adjectives = []string{"Red", "Small", "Deluxe", "Classic", "Smart", "Wooden", "Steel", "Portable", "Vintage", "Eco"}
var nouns = []string{"Lamp", "Chair", "Kettle", "Notebook", "Guitar", "Ball", "Drill", "Puzzle", "Backpack", "Tent"}

// seedUsers is the number of users the seeded sales are spread over.
const seedUsers = 100

// seed inserts the categories, n products and 4n sales through tx in
// batches of multi-row INSERTs, from a fixed random sequence (same data
// every time).
func (s *Store) seed(ctx context.Context, tx *sql.Tx, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	now := s.now()
	var rows [][]any
	for _, c := range categoryNames {
		rows = append(rows, []any{c})
	}
	if err := s.insertBatch(ctx, tx, "categories (name)", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for i := range n {
		name := fmt.Sprintf("%s %s %d", adjectives[rng.IntN(len(adjectives))], nouns[rng.IntN(len(nouns))], i+1)
		price := float64(100+rng.IntN(50000)) / 100
		rows = append(rows, []any{name, price, int64(1 + rng.IntN(len(categoryNames))), now.UnixMicro()})
	}
	if err := s.insertBatch(ctx, tx, "products (name, price, category_id, updated_at)", rows); err != nil {
		return err
	}
	rows = rows[:0]
	for range 4 * n {
		at := now.Add(-time.Duration(rng.Int64N(int64(400 * 24 * time.Hour))))
		rows = append(rows, []any{int64(1 + rng.IntN(seedUsers)), float64(100+rng.IntN(20000)) / 100, at.Unix()})
	}
	return s.insertBatch(ctx, tx, "sales (user_id, amount, created_at)", rows)
}

// insertBatch inserts rows into table (with its column list) through tx,
// 200 rows per statement.
func (s *Store) insertBatch(ctx context.Context, tx *sql.Tx, table string, rows [][]any) error {
	const batch = 200
	for len(rows) > 0 {
		chunk := rows[:min(batch, len(rows))]
		rows = rows[len(chunk):]
		place := "(" + strings.TrimSuffix(strings.Repeat("?,", len(chunk[0])), ",") + ")"
		var args []any
		for _, r := range chunk {
			args = append(args, r...)
		}
		q := "INSERT INTO " + table + " VALUES " + strings.TrimSuffix(strings.Repeat(place+",", len(chunk)), ",")
		if _, err := s.execIn(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("seed %s: %w", table, err)
		}
	}
	return nil
}

const productColumns = `p.id, p.name, p.price, p.category_id, c.name, p.updated_at
	FROM products p JOIN categories c ON c.id = p.category_id`

func scanProduct(rows interface{ Scan(...any) error }) (Product, error) {
	var p Product
	var updated int64
	err := rows.Scan(&p.ID, &p.Name, &p.Price, &p.CategoryID, &p.Category, &updated)
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	return p, err
}

// ListProducts returns page (from 1) of the products ordered by id.
func (s *Store) ListProducts(ctx context.Context, page, perPage int) (Page, error) {
	return s.ListCategory(ctx, 0, page, perPage)
}

// ListCategory returns page (from 1) of the products of category ordered by
// id (0: of every category), or errUnknownCategory.
func (s *Store) ListCategory(ctx context.Context, category int64, page, perPage int) (Page, error) {
	out := Page{Products: []Product{}, Page: page, PerPage: perPage}
	where, args := "", []any{}
	if category != 0 {
		where, args = ` WHERE p.category_id = ?`, []any{category}
	}
	if err := s.queryOne(ctx, `SELECT COUNT(*) FROM products p`+where, args, &out.Total); err != nil {
		return out, err
	}
	if out.Total == 0 && category != 0 {
		if err := s.checkCategory(ctx, category); err != nil {
			return out, err
		}
	}
	out.Pages = (out.Total + perPage - 1) / perPage
	out.HasNext = page < out.Pages
	out.HasPrev = page > 1
	rows, err := s.query(ctx, `SELECT `+productColumns+where+` ORDER BY p.id LIMIT ? OFFSET ?`,
		append(args, perPage, int64(page-1)*int64(perPage))...)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return out, err
		}
		out.Products = append(out.Products, p)
	}
	return out, rows.Err()
}

// Category is a category with its number of products.
type Category struct {
	ID       int64
	Name     string
	Products int
}

// Categories returns every category, by name, with its number of products.
func (s *Store) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.query(ctx, `SELECT c.id, c.name, COUNT(p.id) FROM categories c
		LEFT JOIN products p ON p.category_id = c.id GROUP BY c.id, c.name ORDER BY c.name, c.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Category
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.ID, &c.Name, &c.Products); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetProduct returns one product, or errNotFound.
func (s *Store) GetProduct(ctx context.Context, id int64) (Product, error) {
	return oneProduct(s.query(ctx, `SELECT `+productColumns+` WHERE p.id = ?`, id))
}

// productReturning ends a statement that writes one product: it returns the
// row written, as productColumns reads it, in the statement itself. A write
// followed by a read of its row was two statements, and the second could
// fail (the client hung up, the connection broke) after the first had
// committed. SQLite's RETURNING reads only the table written, so the
// category's name comes from a subquery (PostgreSQL takes it too).
const productReturning = ` RETURNING id, name, price, category_id,
	(SELECT c.name FROM categories c WHERE c.id = products.category_id), updated_at`

// oneProduct scans the first row of rows, the result of a query (err its
// error) returning productColumns; no row is errNotFound.
func oneProduct(rows *sql.Rows, err error) (Product, error) {
	if err != nil {
		return Product{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Product{}, err
		}
		return Product{}, errNotFound
	}
	p, err := scanProduct(rows)
	if err != nil {
		return Product{}, err
	}
	return p, rows.Close()
}

// ProductInput is the body of POST and PUT /products. A nil field is left
// as it is by UpdateProduct; CreateProduct needs all three.
type ProductInput struct {
	Name       *string  `json:"name"`
	Price      *float64 `json:"price"`
	CategoryID *int64   `json:"category_id"`
}

// checkCategory returns errUnknownCategory when id names no category.
func (s *Store) checkCategory(ctx context.Context, id int64) error {
	var n int
	if err := s.queryOne(ctx, `SELECT COUNT(*) FROM categories WHERE id = ?`, []any{id}, &n); err != nil {
		return err
	}
	if n == 0 {
		return errUnknownCategory
	}
	return nil
}

// CreateProduct inserts a product and returns it, as the INSERT returns it
// (productReturning).
func (s *Store) CreateProduct(ctx context.Context, in ProductInput) (Product, error) {
	if err := s.checkCategory(ctx, *in.CategoryID); err != nil {
		return Product{}, err
	}
	return oneProduct(s.query(ctx, `INSERT INTO products (name, price, category_id, updated_at) VALUES (?, ?, ?, ?)`+productReturning,
		*in.Name, *in.Price, *in.CategoryID, s.now().UnixMicro()))
}

// UpdateProduct changes the given fields of product id and returns it, as
// the UPDATE returns it (productReturning), and whether it changed, or
// errNotFound; errNoChange, with no statement run, when in gives no field.
// An update whose every value is the product's own already changes
// nothing, updated_at included, and returns the product as it is with
// changed false: the caller then has no page to invalidate.
func (s *Store) UpdateProduct(ctx context.Context, id int64, in ProductInput) (p Product, changed bool, err error) {
	if in.Name == nil && in.Price == nil && in.CategoryID == nil {
		return Product{}, false, errNoChange
	}
	if in.CategoryID != nil {
		if err := s.checkCategory(ctx, *in.CategoryID); err != nil {
			return Product{}, false, err
		}
	}
	set := []string{"updated_at = ?"}
	args := []any{s.now().UnixMicro()}
	var differs []string // the columns are NOT NULL: <> compares them
	var values []any
	if in.Name != nil {
		set, args = append(set, "name = ?"), append(args, *in.Name)
		differs, values = append(differs, "name <> ?"), append(values, *in.Name)
	}
	if in.Price != nil {
		set, args = append(set, "price = ?"), append(args, *in.Price)
		differs, values = append(differs, "price <> ?"), append(values, *in.Price)
	}
	if in.CategoryID != nil {
		set, args = append(set, "category_id = ?"), append(args, *in.CategoryID)
		differs, values = append(differs, "category_id <> ?"), append(values, *in.CategoryID)
	}
	args = append(append(args, id), values...)
	p, err = oneProduct(s.query(ctx, `UPDATE products SET `+strings.Join(set, ", ")+
		` WHERE id = ? AND (`+strings.Join(differs, " OR ")+`)`+productReturning, args...))
	if !errors.Is(err, errNotFound) {
		return p, err == nil, err
	}
	// No row updated: none has that id, or its values are those given.
	p, err = s.GetProduct(ctx, id)
	return p, false, err
}

// DeleteProduct deletes product id, or returns errNotFound.
func (s *Store) DeleteProduct(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM products WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errNotFound
	}
	return nil
}

// Stats returns the sales of user over the look-back window of period (a
// key of periods).
func (s *Store) Stats(ctx context.Context, user int64, period string) (SalesStats, error) {
	out := SalesStats{UserID: user, Period: period}
	since := s.now().Add(-periods[period]).Unix()
	err := s.queryOne(ctx, `SELECT COALESCE(SUM(amount), 0), COUNT(*) FROM sales WHERE user_id = ? AND created_at >= ?`,
		[]any{user, since}, &out.Total, &out.Orders)
	if out.Orders > 0 {
		out.Average = roundCents(out.Total / float64(out.Orders))
	}
	out.Total = roundCents(out.Total)
	return out, err
}

// roundCents rounds f to the cent. math.Round keeps any finite f in range,
// where int64(f*100+0.5) went negative past 9.2e16.
func roundCents(f float64) float64 { return math.Round(f*100) / 100 }

// Sale is one recorded sale.
type Sale struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Amount    float64   `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
}

// RecordSale inserts a sale made now. On an error, the sale returned
// still has its user and date: the INSERT may have committed (see
// invalidateWrite), and its caller invalidates what it may have changed.
func (s *Store) RecordSale(ctx context.Context, user int64, amount float64) (Sale, error) {
	sale := Sale{UserID: user, Amount: amount, CreatedAt: s.now().UTC().Truncate(time.Second)}
	err := s.queryOne(ctx, `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?) RETURNING id`,
		[]any{user, amount, sale.CreatedAt.Unix()}, &sale.ID)
	return sale, err
}

// rowQuery runs a query that returns one row and scans the row into dest:
// the QueryRow of a transaction, whatever its driver (database/sql or pgx).
type rowQuery func(ctx context.Context, query string, args []any, dest ...any) error

// InsertOrder stores an order through q, the transaction that enqueues its
// job, with the product's price now, which the order is charged whenever
// its job runs, and returns its id. An unknown product is errNotFound; an
// order whose amount, that price times quantity, is over maxAmount is
// errOrderTooLarge, and the caller must roll q's transaction back (the
// amount is checked on the price the INSERT stored).
func (s *Store) InsertOrder(ctx context.Context, q rowQuery, user, product, quantity int64) (int64, error) {
	s.queries.Add(1)
	var id int64
	var price float64
	err := q(ctx, s.rebind(`INSERT INTO orders (user_id, product_id, quantity, created_at, price)
		SELECT ?, id, ?, ?, price FROM products WHERE id = ? RETURNING id, price`),
		[]any{user, quantity, s.now().Unix(), product}, &id, &price)
	if errors.Is(err, sql.ErrNoRows) { // pgx's ErrNoRows is one too
		err = errNotFound
	}
	if err == nil && orderAmount(price, quantity) > maxAmount {
		err = errOrderTooLarge
	}
	return id, err
}

// orderAmount is the sale of quantity at price: what ProcessOrder records.
func orderAmount(price float64, quantity int64) float64 {
	return roundCents(price * float64(quantity))
}

// OrderResult is what processing an order did: the sale it recorded.
type OrderResult struct {
	OrderID   int64     `json:"order_id"`
	SaleID    int64     `json:"sale_id"`
	UserID    int64     `json:"user_id"`
	ProductID int64     `json:"product_id"`
	Quantity  int64     `json:"quantity"`
	Amount    float64   `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
}

// ProcessOrder records the sale of order id, the price recorded with the
// order (the product's when it was placed, however it changed since) times
// the quantity, dated when the order was placed, in one transaction with
// the order's sale_id. It is
// idempotent: an order already processed (by an attempt whose end was not
// recorded) returns the sale recorded then, and records nothing. A missing
// order is errNotFound; a deleted product, errProductGone; an amount over
// maxAmount (an order stored by the version before, which did not refuse
// it), errOrderTooLarge.
//
// An order stored before prices were recorded (by a process of the previous
// version, during a rolling deploy: its price is NULL) is charged the
// product's price only if the product has not changed since the order was
// placed (its updated_at is before the order's second), which is then the
// price of when it was placed. Otherwise that price is unknown, and the
// order is errPriceUnknown, which fails its job for good: charging nothing
// and telling the customer to order again is safe, where charging the
// current price is the bug this column fixed.
func (s *Store) ProcessOrder(ctx context.Context, id int64) (OrderResult, error) {
	out := OrderResult{OrderID: id}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, err
	}
	defer func() { _ = tx.Rollback() }()
	// FOR UPDATE makes two attempts on PostgreSQL take turns; SQLite's
	// transactions begin IMMEDIATE (see openDatabase), which does the same.
	lock := ""
	if s.postgres {
		lock = " FOR UPDATE OF o"
	}
	var saleID, updated sql.NullInt64
	var placed int64
	var price, current sql.NullFloat64
	err = s.queryOneIn(ctx, tx, `SELECT o.user_id, o.product_id, o.quantity, o.sale_id, o.price, o.created_at, p.price, p.updated_at
		FROM orders o LEFT JOIN products p ON p.id = o.product_id WHERE o.id = ?`+lock,
		[]any{id}, &out.UserID, &out.ProductID, &out.Quantity, &saleID, &price, &placed, &current, &updated)
	switch {
	case err != nil:
		return out, err
	case saleID.Valid:
		out.SaleID = saleID.Int64
		var at int64
		err := s.queryOneIn(ctx, tx, `SELECT amount, created_at FROM sales WHERE id = ?`, []any{out.SaleID}, &out.Amount, &at)
		out.CreatedAt = time.Unix(at, 0).UTC()
		return out, err
	case !current.Valid:
		return out, errProductGone
	case !price.Valid && updated.Int64 < time.Unix(placed, 0).UnixMicro():
		price = current // stored by the previous version; unchanged since
	case !price.Valid:
		return out, errPriceUnknown
	}
	out.Amount = orderAmount(price.Float64, out.Quantity)
	if out.Amount > maxAmount {
		// Refused when it was placed (InsertOrder); an order stored by the
		// version before was not.
		return out, errOrderTooLarge
	}
	// The sale is dated when the order was placed, not now: an order placed
	// at 23:59 on the last day of a month and processed after midnight is
	// a sale of that month, in its report and statistics. Every order row
	// has the time it was placed (created_at, NOT NULL, written by
	// InsertOrder in this version and the ones before), so an order stored
	// by the version before is dated the same way: when it was placed, the
	// date its customer saw, whatever the delay before its job ran.
	out.CreatedAt = time.Unix(placed, 0).UTC()
	if err := s.queryOneIn(ctx, tx, `INSERT INTO sales (user_id, amount, created_at) VALUES (?, ?, ?) RETURNING id`,
		[]any{out.UserID, out.Amount, out.CreatedAt.Unix()}, &out.SaleID); err != nil {
		return out, err
	}
	res, err := s.execIn(ctx, tx, `UPDATE orders SET sale_id = ? WHERE id = ? AND sale_id IS NULL`, out.SaleID, id)
	if err != nil {
		return out, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return out, fmt.Errorf("order %d: processed twice at once (%d rows, %v)", id, n, err)
	}
	return out, tx.Commit()
}

// SalesReport is a user's sales over one calendar month (UTC).
type SalesReport struct {
	UserID  int64      `json:"user_id"`
	Month   string     `json:"month"`
	Orders  int        `json:"orders"`
	Total   float64    `json:"total"`
	Average float64    `json:"average"`
	Largest float64    `json:"largest"`
	Days    []DaySales `json:"days"`
}

// noSalesReport returns the report of a month in which user had no sales.
func noSalesReport(user int64, month time.Time) SalesReport {
	return SalesReport{UserID: user, Month: month.Format(monthLayout), Days: []DaySales{}}
}

// DaySales is one day of a SalesReport that had sales.
type DaySales struct {
	Day    string  `json:"day"`
	Orders int     `json:"orders"`
	Total  float64 `json:"total"`
}

// reportMark tells apart the states of a month's sales: their number and
// the largest sale id (a report request's job carries it: reportJobArgs).
type reportMark struct {
	count int
	maxID int64
}

// monthRange returns the unix seconds of the start of month and of the next.
func monthRange(month time.Time) (from, to int64) {
	return month.Unix(), month.AddDate(0, 1, 0).Unix()
}

// SalesReport aggregates user's sales over month (the first instant of a
// month, UTC), day by day.
func (s *Store) SalesReport(ctx context.Context, user int64, month time.Time) (SalesReport, error) {
	out := noSalesReport(user, month)
	from, to := monthRange(month)
	rows, err := s.query(ctx, `SELECT created_at / 86400 AS day, COUNT(*), SUM(amount), MAX(amount)
		FROM sales WHERE user_id = ? AND created_at >= ? AND created_at < ? GROUP BY created_at / 86400 ORDER BY day`,
		user, from, to)
	if err != nil {
		return out, err
	}
	defer rows.Close()
	for rows.Next() {
		var day int64
		var d DaySales
		var largest float64
		if err := rows.Scan(&day, &d.Orders, &d.Total, &largest); err != nil {
			return out, err
		}
		d.Day = time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
		out.Orders += d.Orders
		out.Total += d.Total
		out.Largest = max(out.Largest, largest)
		d.Total = roundCents(d.Total)
		out.Days = append(out.Days, d)
	}
	if out.Orders > 0 {
		out.Average = roundCents(out.Total / float64(out.Orders))
	}
	out.Total = roundCents(out.Total)
	return out, rows.Err()
}

// reportMarkOf returns the mark of user's sales over month now.
func (s *Store) reportMarkOf(ctx context.Context, user int64, month time.Time) (reportMark, error) {
	var m reportMark
	from, to := monthRange(month)
	err := s.queryOne(ctx, `SELECT COUNT(*), COALESCE(MAX(id), 0) FROM sales WHERE user_id = ? AND created_at >= ? AND created_at < ?`,
		[]any{user, from, to}, &m.count, &m.maxID)
	return m, err
}

// MostActiveUsers returns the n users with the most sales since since, the
// most active first.
func (s *Store) MostActiveUsers(ctx context.Context, since time.Time, n int) ([]int64, error) {
	rows, err := s.query(ctx, `SELECT user_id FROM sales WHERE created_at >= ?
		GROUP BY user_id ORDER BY COUNT(*) DESC, user_id LIMIT ?`, since.Unix(), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []int64
	for rows.Next() {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// PurgeSales deletes the sales made before before, and the processed orders
// made before it, and returns how many sales it deleted.
func (s *Store) PurgeSales(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM sales WHERE created_at < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = s.exec(ctx, `DELETE FROM orders WHERE created_at < ? AND sale_id IS NOT NULL`, before.Unix())
	return n, err
}
