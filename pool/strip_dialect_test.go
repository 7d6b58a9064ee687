package pool_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/pool"
)

// The statements below hold 'hunter2' in a string literal under at least one
// of the dialects the library serves (TestStripDialectCases checks that
// against the reference readings at the end of this file), and Strip used to
// print it: its reading is PostgreSQL's, and another dialect's comment, quoted
// name or string ended or began elsewhere.
var dialectLeaks = []struct{ in, want, why string }{
	// The review's four.
	{"SELECT id FROM users # don't cache\nWHERE pw = 'hunter2' AND id = 1", "SELECT id FROM users # don?",
		"MySQL: # starts a line comment"},
	{"SELECT `it's` FROM users WHERE pw = 'hunter2' AND id = 1", "SELECT `it?",
		"MySQL, SQLite: `names`"},
	{"SELECT [it's] FROM users WHERE pw = 'hunter2' AND id = 1", "SELECT [it?",
		"SQL Server, SQLite: [names]"},
	{"SELECT a /* /* */ FROM t WHERE b = 'x */ hunter2' AND id = 1", "SELECT a ?",
		"MySQL, SQLite: block comments do not nest"},

	// MySQL wants white space or a control character after --.
	{"SELECT a --'\n, hunter2 FROM t WHERE b = 'x'", "SELECT a ?",
		"MySQL: --' is two minus signs and a string"},
	// MySQL and MariaDB run what /*! ... */ (and /*M! ... */) hold, and read
	// optimizer hints in /*+ ... */.
	{"SELECT /*! 'x */ hunter2' */ 1", "SELECT ?", "MySQL: /*! ... */ is code"},
	{"SELECT /*M! 'x */ hunter2' */ 1", "SELECT ?", "MariaDB: /*M! ... */ is code"},
	{"SELECT /*!99999 '/* /*' */ ` */ ' */ hunter2 '", "SELECT ?", "MySQL: one /* ... */ nests in a skipped /*!99999 ... */"},
	// Doubled backticks and brackets.
	{"SELECT `a``'b` FROM t WHERE pw = 'hunter2'", "SELECT `a``?", "MySQL: `` in a `name`"},
	{"SELECT [a]]'b] FROM t WHERE pw = 'hunter2'", "SELECT [a]]?", "SQL Server: ]] in a [name]"},
	// PostgreSQL's $tag$ strings are names in MySQL, parameters in SQLite.
	{"SELECT $a$ 'x $a$ hunter2' FROM t", "SELECT ?", "MySQL: $a$ is a name"},
	{"SELECT $a$'$a$ hunter2 '", "SELECT ?", "MySQL: $a$ is a name"},
	// A PostgreSQL $tag$ string may follow a number or '?' (the old code
	// took the $ for part of a name there).
	{"SELECT 1$a$hunter2$a$", "SELECT ??", "PostgreSQL: 1 then a $a$ string"},
	{"SELECT a FROM t WHERE b = ?$a$hunter2$a$", "SELECT a FROM t WHERE b = ??", "PostgreSQL: ? then a $a$ string"},
	// E'...' holds backslash escapes in PostgreSQL (and MySQL), not in
	// SQLite.
	{`SELECT E'a\'b' hunter2 'c'`, "SELECT ?", `SQLite: E then 'a\'`},
	// SQLite's Tcl-style parameters take a (...) suffix.
	{"SELECT $x(it's) FROM t WHERE pw = 'hunter2'", "SELECT $x(it?", "SQLite: $x(it's) is a parameter"},
	// In MySQL "..." is a string with backslash escapes.
	{`SELECT "a\" x" 'hunter2 "'`, `SELECT "a\" x?`, `MySQL: "a\" x" is one string`},
	// PostgreSQL ends a -- comment at \r too.
	{"SELECT a --x\r'y\n hunter2' FROM t", "SELECT a ?", `PostgreSQL: --x ends at \r`},
}

func TestStripDialectLeaks(t *testing.T) {
	for _, tc := range dialectLeaks {
		t.Run(tc.why, func(t *testing.T) {
			out := pool.Strip(tc.in, 0)
			if strings.Contains(out, "hunter2") {
				t.Errorf("Strip(%q) = %q: the literal 'hunter2' leaked (%s)", tc.in, out, tc.why)
			}
			assert.Equal(t, tc.want, out, "Strip(%q)", tc.in)
			assert.Equal(t, out, pool.Strip(out, 0), "idempotent")
		})
	}
}

// TestStripDialectCases checks the test cases themselves: each has 'hunter2'
// in a literal under some reading, and in code under another.
func TestStripDialectCases(t *testing.T) {
	for _, tc := range dialectLeaks {
		at := strings.Index(tc.in, "hunter2")
		var in, out []string
		for _, d := range dialects {
			if d.literals(tc.in)[at] {
				in = append(in, d.name)
			} else {
				out = append(out, d.name)
			}
		}
		if len(in) == 0 || len(out) == 0 {
			t.Errorf("%q: 'hunter2' is in a literal under %v, not under %v: not a disagreement", tc.in, in, out)
		}
	}
}

// PostgreSQL 16 reads 0x1F$a$ as a number then a $a$ string, 15 as 0 then a
// name: the readings part there. 1abc$x is a name after 1 in 15, an error in
// 16.
func TestStripPostgresVersions(t *testing.T) {
	assert.Equal(t, "SELECT ?", pool.Strip("SELECT 0x1F$a$hunter2$a$, 1", 0))
	assert.Equal(t, "SELECT ?, ?", pool.Strip("SELECT 1abc$x, 2", 0))
}

// Where every reading agrees, or where they disagree without a literal at
// stake, the useful text stays.
func TestStripDialectKeeps(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT a[1], b[2:3] FROM t", "SELECT a[?], b[?:?] FROM t"},
		{"SELECT data['key'] FROM t WHERE x = 'y'", "SELECT data[?] FROM t WHERE x = ?"},
		{"SELECT x # y FROM t WHERE z = 1", "SELECT x # y FROM t WHERE z = ?"},
		{"SELECT a # comment\nFROM t WHERE b = 'x'", "SELECT a # comment FROM t WHERE b = ?"},
		{"SELECT `t`.`c` FROM `t` WHERE `c` = 'x'", "SELECT `t`.`c` FROM `t` WHERE `c` = ?"},
		{"SELECT [dbo].[t].[c] FROM [dbo].[t] WHERE [c] = N'x'", "SELECT [dbo].[t].[c] FROM [dbo].[t] WHERE [c] = ?"},
		{"SELECT `it''s`, 'x' FROM t", "SELECT `it?s`, ? FROM t"},
		{"SELECT /*+ MAX_EXECUTION_TIME(1000) */ a FROM t WHERE b = 'x'", "SELECT a FROM t WHERE b = ?"},
		{"SELECT /*!40101 SQL_NO_CACHE */ a FROM t WHERE b = 'x'", "SELECT a FROM t WHERE b = ?"},
		{"SELECT a /* one /* two */ three */ FROM t WHERE b = 'x'", "SELECT a FROM t WHERE b = ?"},
		{"SELECT a --x\nFROM t WHERE b = 'x'", "SELECT a FROM t WHERE b = ?"},
		{"SELECT $$secret$$, a$b$c FROM t WHERE d = $1", "SELECT ?, a$b$c FROM t WHERE d = $1"},
		{"SELECT x::numeric(10,2), :name, @v FROM t", "SELECT x::numeric(?,?), :name, @v FROM t"},
		// A ' in a double-quoted name becomes ?, so that the output holds
		// no string literal under any reading.
		{`SELECT "it's" FROM t`, `SELECT "it?s" FROM t`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			out := pool.Strip(tc.in, 0)
			assert.Equal(t, tc.want, out)
			assert.Equal(t, out, pool.Strip(out, 0), "idempotent")
		})
	}
}

// TestStripDialectRandom builds statements from fragments where the readings
// disagree, with a distinct secret in many places, and checks that no secret
// that some reading holds in a literal is in the output.
func TestStripDialectRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 30000
	if testing.Short() {
		n = 3000
	}
	b := make([]byte, 40)
	for range n {
		k := 1 + r.IntN(len(b))
		for i := range k {
			b[i] = byte(r.UintN(256))
		}
		checkFragments(t, b[:k])
		if t.Failed() {
			return
		}
	}
}

func FuzzStripDialects(f *testing.F) {
	for _, s := range []string{"\x00\x01\x02", "\x03\x04\x05\x06", "\x10\x20\x30\x40\x50", "\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
		"\"0G7\xe30", // 1zzaa$$[$$zzab: PostgreSQL 15 reads 1 then the name zzaa$$
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64 {
			b = b[:64]
		}
		checkFragments(t, b)
	})
}

// fragments are the pieces checkFragments builds statements of; secret stands
// for a secret of its own each time.
var fragments = []string{
	"'", `"`, "`", "[", "]", "#", "--", "-- ", "\n", "\r", "/*", "*/", "/*!", "/*+", "/*M!", `\`, `\'`, `\\`,
	"$a$", "$$", "$1", "$x(", "E'", "x'", "B'", "N'", "U&'", "''", `""`, "``", "]]", " ", "a", "e", "1", ",", "(", ")",
	":", "::", "@", "?", "*", "/", "-", "!", "SELECT ", " FROM t WHERE b = ", secret, secret, secret, secret,
}

const secret = "\x00secret"

func checkFragments(t *testing.T, b []byte) {
	t.Helper()
	var q strings.Builder
	var secrets []string
	var at []int
	for _, c := range b {
		f := fragments[int(c)%len(fragments)]
		if f == secret {
			// Letters only, distinct: zzaa, zzab, ...
			n := len(secrets)
			f = "zz" + string(rune('a'+n/26%26)) + string(rune('a'+n%26))
			secrets = append(secrets, f)
			at = append(at, q.Len())
		}
		q.WriteString(f)
	}
	s := q.String()
	out := pool.Strip(s, 0)
	for _, d := range dialects {
		lit := d.literals(s)
		for k, sec := range secrets {
			if lit[at[k]] && strings.Contains(out, sec) {
				t.Fatalf("Strip(%q) = %q: %s, in a literal under %s, leaked", s, out, sec, d.name)
			}
		}
	}
	if again := pool.Strip(out, 0); again != out {
		t.Fatalf("not idempotent: Strip(%q) = %q, then %q", s, out, again)
	}
	if strings.ContainsRune(out, '\'') {
		t.Fatalf("Strip(%q) = %q holds a quote", s, out)
	}
}

// A dialect is a reference reading of a statement, written for these tests
// apart from Strip and slow on purpose: it marks the bytes it holds in a
// string literal. Double-quoted text is never a literal here, as Strip's
// documentation says, though MySQL reads it as one.
type dialect struct {
	name      string
	bs        int  // backslash escapes in '...': 0 none, 1 in E'...' only, 2 all
	pg        bool // E'', B'', X'', U&'' prefixes, $tag$ strings, -- ends at \r too
	dqBS      bool // "..." takes backslash escapes
	hash      bool // # starts a line comment
	dashSpace bool // -- starts a comment only before white space or a control character
	nest      bool // block comments nest
	exec      bool // /*! /*M! /*+ comments hold code
	skip      bool // /*! /*M! comments are skipped, and one /* ... */ nests in them
	backtick  bool // `names`
	bracket   int  // [names]: 0 none, 1 to the first ], 2 with ]] for ]
	vars      bool // SQLite's $x(...) :x(...) @x(...) #x(...) parameters
	crDash    bool // a -- comment ends at \r as at \n
}

var dialects = []dialect{
	{name: "PostgreSQL", bs: 1, pg: true, nest: true, crDash: true},
	{name: "PostgreSQL, standard_conforming_strings off", bs: 2, pg: true, nest: true, crDash: true},
	{name: "MySQL", bs: 2, dqBS: true, hash: true, dashSpace: true, exec: true, backtick: true},
	{name: "MySQL, /*! */ skipped", bs: 2, dqBS: true, hash: true, dashSpace: true, skip: true, backtick: true},
	{name: "MySQL, NO_BACKSLASH_ESCAPES", hash: true, dashSpace: true, exec: true, backtick: true},
	{name: "MySQL, NO_BACKSLASH_ESCAPES, /*! */ skipped", hash: true, dashSpace: true, skip: true, backtick: true},
	{name: "SQLite", backtick: true, bracket: 1, vars: true},
	{name: "SQL Server", nest: true, bracket: 2},
	{name: "SQL Server, -- ends at \\r", nest: true, bracket: 2, crDash: true},
}

func (d dialect) literals(q string) []bool {
	lit := make([]bool, len(q))
	at := func(i int) byte {
		if i < len(q) {
			return q[i]
		}
		return 0
	}
	literal := func(i, body int, bs bool) int {
		e := quotedEnd(q, body, '\'', bs)
		for k := i; k < e; k++ {
			lit[k] = true
		}
		return e
	}
	exec := false
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '\'':
			i = literal(i, i+1, d.bs == 2)
		case c == '"':
			i = quotedEnd(q, i+1, '"', d.dqBS)
		case c == '`' && d.backtick:
			i = quotedEnd(q, i+1, '`', false)
		case c == '[' && d.bracket == 1:
			if j := strings.IndexByte(q[i:], ']'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case c == '[' && d.bracket == 2:
			i = quotedEnd(q, i+1, ']', false)
		case c == '#' && d.hash:
			i = lineEnd(q, i, false)
		case c == '-' && at(i+1) == '-' && (!d.dashSpace || i+2 == len(q) || q[i+2] <= ' ' || q[i+2] == 0x7f):
			i = lineEnd(q, i, d.crDash)
		case c == '/' && at(i+1) == '*' && d.exec && !exec && (at(i+2) == '!' || at(i+2) == '+'):
			exec = true
			i += 3
		case c == '/' && at(i+1) == '*' && d.exec && !exec && at(i+2) == 'M' && at(i+3) == '!':
			exec = true
			i += 4
		case c == '*' && at(i+1) == '/' && exec:
			exec = false
			i += 2
		case c == '/' && at(i+1) == '*' && d.skip && (at(i+2) == '!' || at(i+2) == 'M' && at(i+3) == '!'):
			i = skippedEnd(q, i)
		case c == '/' && at(i+1) == '*':
			i = commentEnd(q, i, d.nest)
		case c == '$' && d.pg:
			if j, ok := refDollar(q, i); ok {
				for k := i; k < j; k++ {
					lit[k] = true
				}
				i = j
				break
			}
			i++
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
		case d.vars && (c == '$' || c == '@' || c == ':' || c == '#'):
			i++
			for n := 0; i < len(q); {
				if refIdent(q[i]) || q[i] == '$' {
					n++
					i++
				} else if q[i] == '(' && n > 0 {
					for i++; i < len(q) && q[i] != ')' && !strings.ContainsRune(" \t\n\f\r", rune(q[i])); i++ {
					}
					if i < len(q) && q[i] == ')' {
						i++
					}
					break
				} else if q[i] == ':' && at(i+1) == ':' {
					i += 2
				} else {
					break
				}
			}
		case d.pg && c >= '0' && c <= '9':
			// PostgreSQL 15's numbers: 1e'x' is 1 then E'x'.
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.') {
				i++
			}
			if (at(i) == 'e' || at(i) == 'E') && (at(i+1) >= '0' && at(i+1) <= '9' || (at(i+1) == '+' || at(i+1) == '-') && at(i+2) >= '0' && at(i+2) <= '9') {
				for i += 2; i < len(q) && q[i] >= '0' && q[i] <= '9'; i++ {
				}
			}
		case refIdent(c):
			j := i
			for j < len(q) && (refIdent(q[j]) || q[j] == '$') {
				j++
			}
			word := strings.ToLower(q[i:j])
			switch {
			case d.pg && at(j) == '\'' && word == "e":
				j = literal(i, j+1, d.bs >= 1)
			case d.pg && at(j) == '\'' && (word == "b" || word == "x"):
				j = literal(i, j+1, false)
			case d.pg && at(j) == '&' && at(j+1) == '\'' && word == "u":
				j = literal(i, j+2, false)
			}
			i = j
		default:
			i++
		}
	}
	return lit
}

func refIdent(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// quotedEnd returns the index after the quote closing text quoted with q
// whose body starts at i: a doubled quote stands for one, and so does a
// backslash and a quote when bs is set.
func quotedEnd(s string, i int, q byte, bs bool) int {
	for ; i < len(s); i++ {
		switch {
		case bs && s[i] == '\\':
			i++
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			i++
		case s[i] == q:
			return i + 1
		}
	}
	return len(s)
}

func lineEnd(q string, i int, cr bool) int {
	for ; i < len(q); i++ {
		if q[i] == '\n' || cr && q[i] == '\r' {
			return i
		}
	}
	return len(q)
}

func commentEnd(q string, i int, nest bool) int {
	depth := 1
	for i += 2; i+1 < len(q); {
		switch {
		case nest && q[i] == '/' && q[i+1] == '*':
			depth++
			i += 2
		case q[i] == '*' && q[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(q)
}

// skippedEnd returns the index after the /*! or /*M! comment at i, skipped
// as MySQL skips one written for a later version: the first /* in it opens
// a nested comment, which ends at the next */.
func skippedEnd(q string, i int) int {
	nested := false
	for i += 3; i+1 < len(q); i++ {
		switch {
		case !nested && q[i] == '/' && q[i+1] == '*':
			nested = true
			i++
		case q[i] == '*' && q[i+1] == '/':
			if !nested {
				return i + 2
			}
			nested = false
			i++
		}
	}
	return len(q)
}

// refDollar reports whether a $tag$ string starts at i, and where it ends;
// the caller knows that no name runs into q[i].
func refDollar(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && q[j] != '$' {
		c := q[j]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || j > i+1 && c >= '0' && c <= '9') {
			return 0, false
		}
		j++
	}
	if j >= len(q) {
		return 0, false
	}
	tag := q[i : j+1]
	if k := strings.Index(q[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag), true
	}
	return len(q), true
}
