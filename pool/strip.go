package pool

import (
	"strings"
	"unicode/utf8"
)

// Strip returns the SQL statement q fit for a log: every literal (strings
// '...' with doubled-quote escapes, E'...' with backslash escapes,
// B'...'/X'...'/N'...' bit, hex and national strings, $tag$...$tag$
// dollar-quoted strings, and numbers) is replaced by '?', comments are
// removed, runs of white space become one space, and the result is cut to
// max bytes (on a UTF-8 boundary, with "…" appended) when max > 0.
// Identifiers, keywords, double-quoted names and $1-style placeholders are
// kept. An unterminated literal or comment runs to the end of q.
//
// Strip does not know the dialect, and the dialects the library serves read
// some statements differently: what one holds in a string literal, another
// may read as code, a comment or a name. Strip reads q as PostgreSQL does,
// and checks each piece of text it keeps against the readings of MySQL and
// MariaDB, SQLite and SQL Server: at the first piece one of them reads as
// part of a '...' literal, the output ends, with '?' (unless it already ends
// with one), as if a literal ran from there to the end of q. So no reading
// leaks any part of a literal, and the rest of the statement is dropped,
// which is the safe error. Where the readings agree, or differ without a
// literal at stake, the text is kept: x # y, a[1] (as a[?]), `t`.`c`,
// [dbo].[t]. The differences Strip knows:
//
//   - A '...' literal holding a backslash before a quote ends at that quote
//     in standard SQL, SQLite, SQL Server and PostgreSQL by default, but not
//     in MySQL (unless its sql_mode has NO_BACKSLASH_ESCAPES), or in
//     PostgreSQL with standard_conforming_strings off. When the two
//     readings end it at different quotes, every quote after it pairs
//     differently, so the literal is taken to run to the end of q:
//     WHERE b = 'it\'s secret' AND a = 1 becomes WHERE b = ?. E'...', which
//     only PostgreSQL and MySQL read with backslash escapes, and
//     B'...'/X'...'/N'...' are read the same way.
//   - MySQL starts a comment to the end of the line at #, which is an
//     operator elsewhere, and at -- only before white space or a control
//     character (--x is two minus signs there). PostgreSQL ends a --
//     comment at \r as well as at \n, and SQL Server may.
//   - Block comments nest in PostgreSQL and SQL Server, not in MySQL or
//     SQLite. MySQL runs the code in /*! ... */ (MariaDB in /*M! ... */),
//     may read /*+ ... */ as hints, and skips /*!NNNNN ... */ written for a
//     later version as a comment in which one /* ... */ nests.
//   - MySQL and SQLite read `...` as a name (a doubled ` stands for one);
//     SQL Server reads [...] as one (]] stands for ]), and SQLite too (to
//     the first ]). PostgreSQL reads both as code: [ starts a subscript.
//   - $tag$...$tag$ is a string in PostgreSQL only; $ is part of a name in
//     MySQL, and starts a parameter in SQLite, where $x(...), :x(...),
//     @x(...) and #x(...) run to the ) whatever they hold. PostgreSQL 16
//     reads 0x1F$a$ as a number and a $a$ string, 15 as 0 and a name.
//   - MySQL reads "..." with backslash escapes.
//
// Text in double quotes is kept as a name, as standard SQL and PostgreSQL
// read it, even where a dialect reads it as a string literal: MySQL unless
// its sql_mode has ANSI_QUOTES, SQLite where it names no column (its
// double-quoted string literals, accepted unless SQLite was built with
// SQLITE_DQS=0: WHERE name = "alice" compares with the string 'alice' when
// t has no column alice), and SQL Server with QUOTED_IDENTIFIER off. Strip
// keeps it all the same, so such a literal reaches the slow-query log as
// written: write literals in single quotes or, better, pass them as
// arguments. A ' inside a kept name is written ?, so
// that the output holds no ' at all: no reading finds a literal in it, and
// stripping it again changes nothing.
//
// Strip is safe for concurrent use and never panics.
func Strip(q string, max int) string {
	var b strings.Builder
	if max > 0 {
		b.Grow(min(len(q), max+8))
	} else {
		b.Grow(len(q))
	}
	space := false // a space is pending before the next output
	emit := func(s string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s)
	}
	var other readings
	for i := 0; i < len(q); {
		if max > 0 && b.Len() > max {
			break
		}
		c := q[i]
		// j is set by the cases that keep q[i:j] as it is; part by those
		// that find that two readings part.
		j, part := 0, false
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = lineEnd(q, i, true)
			space = true
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i)
			space = true
		case c == '\'':
			_, i = other.memo.quoted(q, i+1)
			emit("?")
		case (c == 'E' || c == 'e' || c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < len(q) && q[i+1] == '\'' && !identBefore(q, i):
			_, i = other.memo.quoted(q, i+2)
			emit("?")
		case c == '"':
			j = skipQuoted(q, i+1, '"', false)
		case c == '$':
			if k, ok := dollarQuoteEnd(q, i); ok {
				i = k
				emit("?")
				break
			}
			// A placeholder ($1) or a lone '$': keep it.
			j = i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
		case isDigit(c) || (c == '.' && i+1 < len(q) && isDigit(q[i+1])):
			k := skipNumber(q, i)
			if k < len(q) && q[k] == '$' && pg15NumberEnd(q[i:k]) < k-i {
				// PostgreSQL 15 reads 1abc$x as 1 then the name abc$x, and
				// 16 reads 0x1F$a$ as a number then a $a$ string.
				if _, ok := dollarQuoteEnd(q, k); ok {
					i = k
					part = true
					break
				}
				for k < len(q) && (isIdent(q[k]) || q[k] == '$') {
					k++
				}
			}
			i = k
			emit("?")
		case isIdent(c):
			// PostgreSQL reads $ as part of a name after its first
			// character: a$b$ is a name, not a $b$ string.
			j = i + 1
			for j < len(q) && (isIdent(q[j]) || q[j] == '$') {
				j++
			}
		default:
			_, n := utf8.DecodeRuneInString(q[i:])
			j = i + n
		}
		if j > 0 && other.literal(q, i, j) {
			// Another dialect reads q[i:j] as part of a literal: its
			// reading and PostgreSQL's parted before.
			part = true
		}
		if part {
			// No more can safely be said: end as a literal running to
			// the end of q would.
			if !strings.HasSuffix(b.String(), "?") {
				emit("?")
			}
			break
		}
		if j == 0 {
			continue
		}
		if c == '"' {
			emit("")
			for k := i; k < j; k++ {
				if q[k] == '\'' {
					b.WriteByte('?')
				} else {
					b.WriteByte(q[k])
				}
			}
		} else {
			emit(q[i:j])
		}
		i = j
	}
	out := b.String()
	if max > 0 && len(out) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

// readings follows how the dialects other than PostgreSQL read a statement,
// each lazily, one literal ahead: [s, e) is the next literal it reads.
type readings struct {
	mysql, sqlite, mssql struct{ s, e int }
	my                   mysqlState
	memo                 quoteMemo
	// The first of the three s, and of the three e: until i reaches e,
	// no reading needs to read further.
	s, e int
}

// literal reports whether one of the readings holds part of q[i:j] in a
// literal. i never decreases from one call to the next.
func (r *readings) literal(q string, i, j int) bool {
	if i >= r.e {
		if e := r.mysql.e; e <= i && r.sqlite.e == e && r.mssql.e == e && r.my.fence == 0 && r.my.part == 0 {
			// The three read on from the same place: skip what none of
			// them reads as more than code once for all three.
			for e < len(q) && !anySpecial[q[e]] {
				e++
			}
			r.mysql.s, r.mysql.e = r.my.next(q, e, &r.memo)
			r.sqlite.s, r.sqlite.e = nextSQLite(q, e, &r.memo)
			r.mssql.s, r.mssql.e = nextSQLServer(q, e, &r.memo)
		}
		for r.mysql.e <= i {
			r.mysql.s, r.mysql.e = r.my.next(q, r.mysql.e, &r.memo)
		}
		for r.sqlite.e <= i {
			r.sqlite.s, r.sqlite.e = nextSQLite(q, r.sqlite.e, &r.memo)
		}
		for r.mssql.e <= i {
			r.mssql.s, r.mssql.e = nextSQLServer(q, r.mssql.e, &r.memo)
		}
		r.s = min(r.mysql.s, r.sqlite.s, r.mssql.s)
		r.e = min(r.mysql.e, r.sqlite.e, r.mssql.e)
	}
	return r.s < j
}

// quoteFrom is the literal a reading is taken to hold when two of its
// variants part at i: in one of them, whatever the other reads, a literal
// may start at any quote from i on, so the first one starts a literal that
// runs to the end of q.
func quoteFrom(q string, i int) (int, int) {
	k := strings.IndexByte(q[i:], '\'')
	if k < 0 {
		return len(q), len(q)
	}
	return i + k, len(q)
}

// mysqlState is what MySQL's reading carries from one literal to the next.
// MySQL and MariaDB run the code in /*! ... */ and /*M! ... */ (and may read
// /*+ ... */ as hints), but skip a /*!NNNNN ... */ written for a later
// version, as a comment in which one /* ... */ may nest: the variants agree
// where the executable comment holds no /* and its first */ is read as code,
// and part at that */ otherwise.
type mysqlState struct {
	// fence is the index after the first */ of the executable comment
	// being read, 0 when none; part is where the variants part, and a
	// literal may start at any quote from there on, 0 when nowhere.
	fence, part int
}

// next returns the next literal MySQL or MariaDB reads in q from i (in
// code): '...' and "..." with or without backslash escapes (a '...' literal
// runs to the end of q where that makes a difference), `names`, # and "-- "
// comments, block comments that do not nest, and executable comments.
func (m *mysqlState) next(q string, i int, memo *quoteMemo) (int, int) {
	for i < len(q) {
		if m.part > 0 && i >= m.part {
			return quoteFrom(q, m.part)
		}
		if m.fence > 0 && i == m.fence-2 {
			m.fence = 0
			i += 2
			continue
		}
		lim := len(q)
		if m.fence > 0 {
			lim = m.fence - 2
		}
		if m.part > 0 {
			lim = min(lim, m.part)
		}
		for i < lim && !mysqlSpecial[q[i]] {
			i++
		}
		if i == lim {
			continue
		}
		start, lit := i, false
		switch c := q[i]; c {
		case '\'':
			_, i = memo.quoted(q, i+1)
			lit = true
		case '"':
			i = skipQuoted(q, i+1, '"', false)
			if e := skipQuoted(q, start+1, '"', true); e != i {
				m.setPart(min(i, e))
			}
		case '`':
			i = skipQuoted(q, i+1, '`', false)
		case '#':
			i = lineEnd(q, i, false)
		case '-':
			if i+1 < len(q) && q[i+1] == '-' && (i+2 == len(q) || q[i+2] <= ' ' || q[i+2] == 0x7f) {
				i = lineEnd(q, i, false)
			} else {
				i++
				continue
			}
		case '/':
			if i+1 >= len(q) || q[i+1] != '*' {
				i++
				continue
			}
			if n := execComment(q, i); n > 0 && m.fence == 0 {
				if k := strings.Index(q[i+2:], "*/"); k >= 0 {
					m.fence = i + 2 + k + 2
					if strings.Contains(q[i+2:m.fence-2], "/*") {
						m.setPart(m.fence)
					}
				} else {
					// Unterminated: code or a comment to the end, and
					// no */ to look for again.
					m.fence = len(q) + 2
				}
				i += n
				continue
			}
			if k := strings.Index(q[i+2:], "*/"); k >= 0 {
				i += 2 + k + 2
			} else {
				i = len(q)
			}
		default:
			i++
			continue
		}
		if m.fence > 0 && start < m.fence && i > m.fence-2 {
			// The literal, name or comment runs over the */ that
			// ends the executable comment when it is skipped.
			m.setPart(m.fence)
			m.fence = 0
		}
		if m.part > 0 && i > m.part {
			if lit {
				return start, len(q)
			}
			return quoteFrom(q, m.part)
		}
		if lit {
			return start, i
		}
	}
	return len(q), len(q)
}

func (m *mysqlState) setPart(i int) {
	if m.part == 0 || i < m.part {
		m.part = i
	}
}

// execComment returns the length of the /*!, /*M! or /*+ at i, 0 if none.
func execComment(q string, i int) int {
	switch {
	case i+2 < len(q) && (q[i+2] == '!' || q[i+2] == '+'):
		return 3
	case i+3 < len(q) && q[i+2] == 'M' && q[i+3] == '!':
		return 4
	}
	return 0
}

// nextSQLite returns the next literal SQLite reads in q from i (in code):
// '...' without backslash escapes, "names", `names`, [names] to the first ],
// -- comments, block comments that do not nest, and $, :, @ and # parameters
// with their (...) suffix.
func nextSQLite(q string, i int, memo *quoteMemo) (int, int) {
	for i < len(q) {
		for i < len(q) && !sqliteSpecial[q[i]] {
			i++
		}
		if i == len(q) {
			break
		}
		switch c := q[i]; {
		case c == '\'':
			e, _ := memo.quoted(q, i+1)
			return i, e
		case c == '"' || c == '`':
			i = skipQuoted(q, i+1, c, false)
		case c == '[':
			if k := strings.IndexByte(q[i:], ']'); k >= 0 {
				i += k + 1
			} else {
				i = len(q)
			}
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			i = lineEnd(q, i, false)
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			if k := strings.Index(q[i+2:], "*/"); k >= 0 {
				i += 2 + k + 2
			} else {
				i = len(q)
			}
		case c == '$' && i > 0 && (isIdent(q[i-1]) || q[i-1] == '$'):
			// Part of the name or number before it.
			i++
		case c == '$' || c == ':' || c == '@' || c == '#':
			i = sqliteParam(q, i)
		default:
			i++
		}
	}
	return len(q), len(q)
}

// sqliteParam returns the index after the SQLite parameter at i: $, :, @ or
// #, then name characters and :: pairs, and, after at least one name
// character, a suffix running from ( to ) or to white space.
func sqliteParam(q string, i int) int {
	n := 0
	for i++; i < len(q); {
		switch c := q[i]; {
		case isIdent(c) || c == '$':
			n++
			i++
		case c == ':' && i+1 < len(q) && q[i+1] == ':':
			i += 2
		case c == '(' && n > 0:
			for i++; i < len(q) && q[i] != ')' && q[i] != ' ' && (q[i] < '\t' || q[i] > '\r'); i++ {
			}
			if i < len(q) && q[i] == ')' {
				i++
			}
			return i
		default:
			return i
		}
	}
	return i
}

// nextSQLServer returns the next literal SQL Server reads in q from i (in
// code): '...' without backslash escapes, "names", [names] with ]] for ],
// -- comments (which may end at a lone \r), and nested block comments.
func nextSQLServer(q string, i int, memo *quoteMemo) (int, int) {
	for i < len(q) {
		for i < len(q) && !mssqlSpecial[q[i]] {
			i++
		}
		if i == len(q) {
			break
		}
		switch c := q[i]; {
		case c == '\'':
			e, _ := memo.quoted(q, i+1)
			return i, e
		case c == '"':
			i = skipQuoted(q, i+1, '"', false)
		case c == '[':
			i = skipQuoted(q, i+1, ']', false)
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			e := lineEnd(q, i, false)
			if r := lineEnd(q[:e], i, true); r+1 < e {
				// A \r that may or may not end the comment.
				return quoteFrom(q, r+1)
			}
			i = e
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i)
		default:
			i++
		}
	}
	return len(q), len(q)
}

// The bytes at which a reading may leave code, and those at which one of
// them may.
const (
	mysqlBytes  = "'\"`#-/"
	sqliteBytes = "'\"`[-/$:@#"
	mssqlBytes  = "'\"[-/"
)

var (
	mysqlSpecial  = special(mysqlBytes)
	sqliteSpecial = special(sqliteBytes)
	mssqlSpecial  = special(mssqlBytes)
	anySpecial    = special(mysqlBytes + sqliteBytes + mssqlBytes)
)

func special(s string) *[256]bool {
	var t [256]bool
	for i := range len(s) {
		t[s[i]] = true
	}
	return &t
}

// lineEnd returns the index of the line end after i (\n, or \r too when cr
// is set), or the end of q.
func lineEnd(q string, i int, cr bool) int {
	var k int
	if cr {
		k = strings.IndexAny(q[i:], "\n\r")
	} else {
		k = strings.IndexByte(q[i:], '\n')
	}
	if k < 0 {
		return len(q)
	}
	return i + k
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdent reports whether c may be part of an identifier (non-ASCII bytes
// count: PostgreSQL allows letters of any script).
func isIdent(c byte) bool {
	return c == '_' || isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || c >= 0x80
}

// identBefore reports whether the byte before i continues a word, so that
// q[i] is inside it (in xe'...', e'...' is not an E'...' string).
func identBefore(q string, i int) bool {
	// '?' counts as part of a word: it is what a number became, so that
	// stripping a stripped statement changes nothing.
	return i > 0 && (isIdent(q[i-1]) || q[i-1] == '$' || q[i-1] == '?')
}

// quoteMemo remembers the '...' literal last read: PostgreSQL's reading and
// the others usually all read the same one in turn.
type quoteMemo struct{ at, plain, end int }

// quoted returns the index after the quote that closes the '...' literal
// whose body starts at i > 0, read without backslash escapes (plain), and
// read without knowing the dialect (end). Standard SQL (and PostgreSQL with
// standard_conforming_strings on, its default) ends 'C:\' at its second
// quote; MySQL, and PostgreSQL with it off, read \' as an escaped quote and
// go on. When the two readings end the literal at different quotes, every
// quote after it pairs differently in each, so that whichever reading is
// followed, text the other one holds in a literal may come out as code:
// 'it\'s hunter2' leaked "s hunter2" under the standard reading, and
// 'C:\' AND pw = 'hunter2' would leak "hunter2" under the backslash one.
// So a literal the readings disagree on is taken to run to the end of q
// (end is len(q)): the rest of the statement is dropped, which is the safe
// error.
func (m *quoteMemo) quoted(q string, i int) (plain, end int) {
	if m.at == i {
		return m.plain, m.end
	}
	plain, end = len(q), len(q)
	backslash := false
	for j := i; j < len(q); j++ {
		if q[j] == '\\' {
			backslash = true
		} else if q[j] == '\'' {
			if j+1 < len(q) && q[j+1] == '\'' {
				j++
				continue
			}
			plain, end = j+1, j+1
			if backslash && skipQuoted(q, i, '\'', true) != end {
				end = len(q)
			}
			break
		}
	}
	m.at, m.plain, m.end = i, plain, end
	return plain, end
}

// skipQuoted returns the index after the quote that closes text quoted with
// quote (' " ` or ] for [...]) whose body starts at i: a doubled quote
// stands for one, and so does a backslash and the next byte when backslash
// is set.
func skipQuoted(q string, i int, quote byte, backslash bool) int {
	for i < len(q) {
		switch q[i] {
		case '\\':
			if backslash {
				i += 2
				continue
			}
		case quote:
			if i+1 < len(q) && q[i+1] == quote {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(q)
}

// skipBlockComment returns the index after the block comment at i, read as
// PostgreSQL and SQL Server do: /* inside opens a nested one.
func skipBlockComment(q string, i int) int {
	depth := 0
	for i+1 < len(q) {
		switch {
		case q[i] == '/' && q[i+1] == '*':
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

// dollarQuoteEnd reports whether a $tag$...$tag$ string starts at i, and the
// index after it (the end of q when it is unterminated). The caller knows
// that q[i] is not part of a name (a$b$ is one in PostgreSQL): after a
// number, a literal or an operator such as '?', it starts a string.
func dollarQuoteEnd(q string, i int) (int, bool) {
	j := i + 1
	for j < len(q) && q[j] != '$' {
		if !isIdent(q[j]) || (j == i+1 && isDigit(q[j])) {
			return 0, false
		}
		j++
	}
	if j >= len(q) {
		return 0, false
	}
	tag := q[i : j+1]
	k := strings.Index(q[j+1:], tag)
	if k < 0 {
		return len(q), true
	}
	return j + 1 + k + len(tag), true
}

// pg15NumberEnd returns where PostgreSQL 15 ends the number t starts with:
// digits, a fraction, an exponent; what follows starts another token.
func pg15NumberEnd(t string) int {
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i < len(t) && t[i] == '.' {
		for i++; i < len(t) && isDigit(t[i]); i++ {
		}
	}
	if i < len(t) && t[i]|0x20 == 'e' {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		if j < len(t) && isDigit(t[j]) {
			for i = j; i < len(t) && isDigit(t[i]); i++ {
			}
		}
	}
	return i
}

// skipNumber returns the index after the number starting at i: a run of
// digits, letters, '_' and '.' (1.5, 0x1F, 1_000, and anything glued to
// them), with the sign of an exponent (1e-5).
func skipNumber(q string, i int) int {
	for i < len(q) {
		c := q[i]
		switch {
		case isIdent(c) || c == '.':
			i++
		case (c == '+' || c == '-') && (q[i-1] == 'e' || q[i-1] == 'E') && i+1 < len(q) && isDigit(q[i+1]):
			i++
		default:
			return i
		}
	}
	return i
}
