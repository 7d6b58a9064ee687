package pool_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/pool"
)

func TestStrip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT ?"},
		{"SELECT * FROM users WHERE email = 'a@b.c' AND id = 42", "SELECT * FROM users WHERE email = ? AND id = ?"},
		{"SELECT 'it''s'", "SELECT ?"},
		// PostgreSQL reads E'...' with backslash escapes, SQLite reads E then
		// 'a\', and the rest pairs differently: the literal runs to the end
		// of q, as a '...' one does.
		{`SELECT E'a\'b', 'c'`, "SELECT ?"},
		{`SELECT E'a''b', 'c'`, "SELECT ?, ?"},
		{"SELECT X'1F', B'101', N'x'", "SELECT ?, ?, ?"},
		{"SELECT $$secret$$, $tag$a $$ b$tag$", "SELECT ?, ?"},
		{"SELECT 1.5, .5, 1e10, 2.5E-3, 0x1F", "SELECT ?, ?, ?, ?, ?"},
		{"SELECT * FROM t1 WHERE col_2 = $1", "SELECT * FROM t1 WHERE col_2 = $1"},
		{`SELECT "Odd ""name"" 7" FROM t`, `SELECT "Odd ""name"" 7" FROM t`},
		{"SELECT a -- the 'token' 123\nFROM t", "SELECT a FROM t"},
		{"SELECT /* 'x' /* nested */ 9 */ a", "SELECT a"},
		{"SELECT\n\t a ,\n b", "SELECT a , b"},
		{"SELECT 'unterminated", "SELECT ?"},
		{"SELECT /* unterminated", "SELECT"},
		{"SELECT ARRAY[1,2,3]", "SELECT ARRAY[?,?,?]"},
		// A backslash before a quote: MySQL (and PostgreSQL with
		// standard_conforming_strings off) escape the quote, standard SQL
		// ends the literal there. Either reading could leak what the other
		// holds in a literal, so the rest of the statement goes.
		{`SELECT * FROM u WHERE pw = 'it\'s hunter2 my password' AND id = 7`, "SELECT * FROM u WHERE pw = ?"},
		{`SELECT * FROM u WHERE dir = 'C:\' AND pw = 'hunter2'`, "SELECT * FROM u WHERE dir = ?"},
		{`SELECT N'it\'s hunter2', 1`, "SELECT ?"},
		{`SELECT 'a\\', 'b\\\'c' FROM t`, "SELECT ?, ?"},
		{`SELECT 'a\\' FROM t WHERE b = 'c'`, "SELECT ? FROM t WHERE b = ?"},
		{`SELECT 'no escape \n here', 2`, "SELECT ?, ?"},
		// Double quotes enclose names (standard SQL, PostgreSQL, SQLite);
		// Strip keeps them, which under MySQL without ANSI_QUOTES keeps a
		// "..." string literal too: documented on Strip.
		{`SELECT "users"."email" FROM "users"`, `SELECT "users"."email" FROM "users"`},
		{"SELECT a::int8 FROM ünïcode_t WHERE x>=-3", "SELECT a::int8 FROM ünïcode_t WHERE x>=-?"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, pool.Strip(tc.in, 0))
		})
	}
}

func TestStripTruncates(t *testing.T) {
	got := pool.Strip("SELECT "+strings.Repeat("abcdé, ", 100)+"z FROM t", 20)
	assert.Equal(t, "SELECT abcdé, abcd…", got, "cut at 20 bytes, before the é that would cross it")
	assert.True(t, utf8.ValidString(got))
	assert.Equal(t, "SELECT ?", pool.Strip("SELECT 'a very long secret literal'", 10), "a literal is replaced before the cut")
}

func FuzzStrip(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a''b' -- c", `E'\''`, "$a$ $a", "/* /* */", `"x""y"`, "1e+5x", "$1 $$", "é'ü'",
		`'it\'s' x 'y'`, `'C:\' 'z'`} {
		f.Add(s, "secretvalue")
	}
	f.Fuzz(func(t *testing.T, q, secret string) {
		out := pool.Strip(q, 0)
		if utf8.ValidString(q) && !utf8.ValidString(out) {
			t.Fatalf("Strip(%q) = %q: invalid UTF-8", q, out)
		}
		if again := pool.Strip(out, 0); again != out {
			t.Fatalf("not idempotent: Strip(%q) = %q, then %q", q, out, again)
		}
		if cut := pool.Strip(q, 16); len(cut) > 16+len("…") {
			t.Fatalf("Strip(%q, 16) = %q: longer than the limit", q, cut)
		}
		// A literal's content never survives, wherever the literal is put,
		// whichever the dialect.
		if len(secret) < 4 || strings.ContainsAny(secret, "'\\") || strings.Contains(q, secret) {
			return
		}
		for _, lit := range []string{"'" + secret + "'", "E'" + secret + "'", "$q$" + secret + "$q$",
			// A backslash before a quote: the secret is in a literal in
			// MySQL's reading of the first, in standard SQL's of the second.
			`'it\'s ` + secret + "'", `'C:\' AND d = '` + secret + "'"} {
			stmt := "SELECT a FROM t WHERE b = " + lit + " AND c = 1"
			if out := pool.Strip(stmt, 0); strings.Contains(out, secret) {
				t.Fatalf("Strip(%q) = %q: the literal leaked", stmt, out)
			}
		}
	})
}

// BenchmarkStrip runs Strip over statements of the kinds the slow-query log
// sees, cut to DefaultMaxStatement as OpenDB does, and one long statement
// whole.
func BenchmarkStrip(b *testing.B) {
	insert := "INSERT INTO events (id, kind, payload, at) VALUES " + strings.Repeat("(12345, 'click', '{\"x\": 1, \"y\": [1, 2, 3]}', '2024-01-01 00:00:00'), ", 20) + "(1, 'end', '{}', now())"
	for _, bc := range []struct {
		name, q string
		max     int
	}{
		{"postgres", `SELECT u.id, u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE u.email = $1 AND o.created_at > now() - interval '7 days' AND o.status IN ('paid', 'shipped') ORDER BY o.total DESC LIMIT 50 -- dashboard`, pool.DefaultMaxStatement},
		{"mysql", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ `u`.`id`, `u`.`name` FROM `users` AS `u` WHERE `u`.`email` = 'ann@example.com' AND `u`.`age` > 30 # adults\nORDER BY `u`.`id` LIMIT 10", pool.DefaultMaxStatement},
		{"insert", insert, pool.DefaultMaxStatement},
		{"insert-whole", insert, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pool.Strip(bc.q, bc.max)
			}
		})
	}
}
