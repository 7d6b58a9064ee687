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
// Strip does not know the dialect. A '...' literal holding a backslash
// before a quote ends at that quote in standard SQL (and in PostgreSQL by
// default) but not in MySQL, or in PostgreSQL with
// standard_conforming_strings off; when the two readings disagree, the
// literal is taken to run to the end of q, so that no reading leaks part of
// one: WHERE b = 'it\'s secret' AND a = 1 becomes WHERE b = ?.
//
// Text in double quotes is kept as a name: it is one in standard SQL,
// PostgreSQL and SQLite. MySQL, unless its sql_mode has ANSI_QUOTES, reads
// "..." as a string literal, and Strip keeps it all the same: under MySQL,
// write literals in single quotes or, better, pass them as arguments, or
// they reach the slow-query log.
//
// Strip is safe for concurrent use and never panics.
func Strip(q string, max int) string {
	var b strings.Builder
	b.Grow(min(len(q), max+8))
	space := false // a space is pending before the next output
	emit := func(s string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s)
	}
	for i := 0; i < len(q); {
		if max > 0 && b.Len() > max {
			break
		}
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				i = len(q)
			} else {
				i += j
			}
			space = true
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			i = skipBlockComment(q, i)
			space = true
		case c == '\'':
			i = skipPlainQuoted(q, i+1)
			emit("?")
		case (c == 'E' || c == 'e') && i+1 < len(q) && q[i+1] == '\'' && !identBefore(q, i):
			i = skipQuoted(q, i+2, true)
			emit("?")
		case (c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < len(q) && q[i+1] == '\'' && !identBefore(q, i):
			i = skipPlainQuoted(q, i+2)
			emit("?")
		case c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == '"' {
					if j+1 < len(q) && q[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			if j > len(q) {
				j = len(q)
			}
			emit(q[i:j])
			i = j
		case c == '$':
			if j, ok := dollarQuoteEnd(q, i); ok {
				i = j
				emit("?")
				break
			}
			// A placeholder ($1) or a lone '$': keep it.
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			emit(q[i:j])
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(q) && isDigit(q[i+1])):
			i = skipNumber(q, i)
			emit("?")
		case isIdent(c):
			j := i
			for j < len(q) && isIdent(q[j]) {
				j++
			}
			emit(q[i:j])
			i = j
		default:
			_, n := utf8.DecodeRuneInString(q[i:])
			emit(q[i : i+n])
			i += n
		}
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

// skipPlainQuoted returns the index after a '...' literal whose body starts
// at i, read without knowing the dialect. Standard SQL (and PostgreSQL with
// standard_conforming_strings on, its default) ends 'C:\' at its second
// quote; MySQL, and PostgreSQL with it off, read \' as an escaped quote and
// go on. When the two readings end the literal at different quotes, every
// quote after it pairs differently in each, so that whichever reading is
// followed, text the other one holds in a literal may come out as code:
// 'it\'s hunter2' leaked "s hunter2" under the standard reading, and
// 'C:\' AND pw = 'hunter2' would leak "hunter2" under the backslash one.
// So a literal the readings disagree on is taken to run to the end of q:
// the rest of the statement is dropped, which is the safe error.
func skipPlainQuoted(q string, i int) int {
	end := skipQuoted(q, i, false)
	if skipQuoted(q, i, true) != end {
		return len(q)
	}
	return end
}

// skipQuoted returns the index after the quote that closes a '...' literal
// whose body starts at i; backslash escapes count when backslash is set.
func skipQuoted(q string, i int, backslash bool) int {
	for i < len(q) {
		switch q[i] {
		case '\\':
			if backslash {
				i += 2
				continue
			}
		case '\'':
			if i+1 < len(q) && q[i+1] == '\'' {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(q)
}

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
// index after it (the end of q when it is unterminated).
func dollarQuoteEnd(q string, i int) (int, bool) {
	if identBefore(q, i) {
		return 0, false
	}
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
