package cacheurl

import (
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// params are the query parameters of a cache URL. An opener takes the ones
// its scheme reads, each with the parser of its type; finish then reports
// the first bad value, or the first parameter nobody took.
type params struct {
	m      map[string]string
	asked  []string   // the names taken, for the message about an unknown one
	err    error      // the first bad value
	pass   url.Values // values handed on to go-redis as written (see keep)
	secret bool       // the URL holds a password: see paramError
}

// knownParams are the names of all the parameters some scheme reads (a test
// checks that every name an opener takes is here).
var knownParams = map[string]bool{
	"key_prefix": true, "default_timeout": true,
	"max_entries": true, "threshold": true, "max_bytes": true, "shards": true, "sweep_interval": true,
	"namespace": true, "file_mode": true, "dir_mode": true, "sync": true,
	"timeout": true, "max_idle_conns": true, "max_item_size": true, "generation_ttl": true, "generation_grace": true, "flush_on_clear": true,
	"near": true, "near_max_stale": true, "near_max_entries": true, "near_max_bytes": true,
	"prefix": true, "clear_flushes_db": true, "db": true, "max_redirects": true, "username": true, "password": true,
	"client_name": true, "protocol": true, "max_retries": true,
	"dial_timeout": true, "read_timeout": true, "write_timeout": true, "pool_timeout": true,
	"conn_max_idle_time": true, "conn_max_lifetime": true,
	"pool_size": true, "min_idle_conns": true, "max_active_conns": true,
	"pool_fifo": true, "read_only": true, "replica_only": true, "route_by_latency": true, "route_randomly": true,
	"skip_verify": true,
}

// passwordParam reports whether the parameter name holds a password, as
// the Sentinel master's password does.
func passwordParam(name string) bool {
	return strings.Contains(strings.ToLower(name), "password")
}

// hiddenName is what an error says in place of a parameter's name that is
// not shown.
const hiddenName = "its name is not shown: the URL holds a password, and a raw '&' in a password " +
	"makes the rest of it read as a parameter (write a '&' of a password as %26)"

// paramError returns an *Error for the parameter name; in a URL with a
// password (secret), one that names no parameter any scheme reads: such a
// name may be the tail of a password with a raw '&' in it.
func paramError(name, reason string, secret bool) *Error {
	if secret && !knownParams[name] {
		return &Error{Part: "parameter", Reason: reason + "; " + hiddenName}
	}
	return invalidParam(name, reason)
}

// got describes the bad value v for an error: quoted, but not in a URL
// with a password, where a raw '&' in the password makes its tail the
// value of whatever parameter name follows it.
func (p *params) got(v string) string {
	if p.secret {
		return "got a value not shown: the URL holds a password (write a '&' of a password as %26)"
	}
	return fmt.Sprintf("got %q", v)
}

// fail records the first error.
func (p *params) fail(name, reason string) {
	if p.err == nil {
		p.err = paramError(name, reason, p.secret)
	}
}

// take removes name and returns its value.
func (p *params) take(name string) (string, bool) {
	p.asked = append(p.asked, name)
	v, ok := p.m[name]
	delete(p.m, name)
	return v, ok
}

// has reports whether name is present and not yet taken.
func (p *params) has(name string) bool {
	_, ok := p.m[name]
	return ok
}

// alias makes flask (Flask-Caching's name) another spelling of name.
func (p *params) alias(flask, name string) {
	p.asked = append(p.asked, flask)
	v, ok := p.m[flask]
	if !ok {
		return
	}
	delete(p.m, flask)
	if p.has(name) {
		p.fail(name, "is given twice, also as "+flask+" (Flask-Caching's name for it); keep one")
		return
	}
	p.m[name] = v
}

// keep hands name's value on to go-redis as written, once its parser below
// has checked it.
func (p *params) keep(name string) {
	if v, ok := p.m[name]; ok {
		if p.pass == nil {
			p.pass = url.Values{}
		}
		p.pass.Set(name, v)
	}
}

// str returns name's value, or "".
func (p *params) str(name string) string {
	v, _ := p.take(name)
	return v
}

// decimal parses v, a number as a cache URL writes one: decimal digits,
// without a sign or a leading zero (0 itself is one), or, with minusOne,
// exactly -1 (the "none" or "no bound" some parameters take). A number
// has one spelling: 007, -0 and +5 (%2B5: a raw '+' reads as a space) are
// not numbers, as they are not Go's, Redis's or a port's.
func decimal(v string, minusOne bool) (int64, bool) {
	if minusOne && v == "-1" {
		return -1, true
	}
	if v == "" || v[0] < '0' || v[0] > '9' || v[0] == '0' && len(v) > 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// integer returns name's value, an integer from lo to hi (lo at least -1),
// written as decimal reads one, or 0 when absent; want describes the range
// for the error message.
func (p *params) integer(name string, lo, hi int, want string) int {
	v, ok := p.take(name)
	if !ok {
		return 0
	}
	n, ok := decimal(v, lo < 0)
	if !ok || n < int64(lo) || n > int64(hi) {
		p.fail(name, fmt.Sprintf("want %s, %s", want, p.got(v)))
		return 0
	}
	return int(n)
}

// count is the range of integer for a count whose 0 means the default.
const (
	maxCount  = math.MaxInt32
	wantCount = "an integer, 0 (the default) or more"
)

// The bounds of the counts of connections and of redirects: go-redis
// allocates for every slot of a pool when Open builds the client (about
// 275 bytes each), so that a pool_size of 2^31-1 would take all the
// memory; and go-redis tries a cluster command up to max_redirects more
// times (on a redirect or a network error), without a pause in a client
// the Store builds.
const (
	maxConns     = 10000
	wantConns    = "an integer from 0 (the default) to 10000"
	maxRedirects = 10
	wantRedirect = "an integer from 0 (the default, 3) to 10"
)

// sizeUnits are the suffixes size accepts.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}}

// size returns name's value, a number of bytes written as an integer (as
// decimal reads one) with an optional unit (B, KiB, MiB, GiB, TiB), or 0
// when absent. With off, -1 (no bound) is accepted too.
func (p *params) size(name string, off bool) int64 {
	v, ok := p.take(name)
	if !ok {
		return 0
	}
	if off && v == "-1" {
		return -1
	}
	num, mult := v, int64(1)
	for _, u := range sizeUnits {
		if s, found := strings.CutSuffix(v, u.suffix); found {
			num, mult = s, u.mult
			break
		}
	}
	n, ok := decimal(num, false)
	if !ok || n > math.MaxInt64/mult {
		want := "a size in bytes, 0 (the default) or more, with an optional unit (KiB, MiB, GiB), as 64MiB"
		if off {
			want += ", or -1 (no bound)"
		}
		p.fail(name, fmt.Sprintf("want %s, %s", want, p.got(v)))
		return 0
	}
	return n * mult
}

// durationRule is the range a duration parameter accepts.
type durationRule int

const (
	positive      durationRule = iota // > 0
	positiveOrOff                     // > 0, or -1: none (the backend's -1)
	nonNegative                       // >= 0
)

// duration returns name's value, a Go duration ("500ms", "1m30s") without a
// sign or a whole number of seconds ("300", as Flask-Caching and go-redis
// read it; written as decimal reads one), or 0 when absent. No negative
// value is accepted, but -1 with positiveOrOff: go-redis reads any
// duration <= 0 as no timeout at all.
func (p *params) duration(name string, rule durationRule) time.Duration {
	v, ok := p.take(name)
	if !ok {
		return 0
	}
	if rule == positiveOrOff && v == "-1" {
		return -1
	}
	var d time.Duration
	var err error
	switch n, ok := decimal(v, false); {
	case ok && n > math.MaxInt64/int64(time.Second):
		err = strconv.ErrRange // it would wrap around to a negative
	case ok:
		d = time.Duration(n) * time.Second
	case strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-"):
		err = strconv.ErrSyntax // +5s, -0s: ParseDuration takes a sign
	default:
		d, err = time.ParseDuration(v)
	}
	if err == nil && (d > 0 || d == 0 && rule == nonNegative) {
		return d
	}
	want := map[durationRule]string{
		positive:      "a positive duration",
		positiveOrOff: "a positive duration, or -1 (none)",
		nonNegative:   "a duration of 0 or more",
	}[rule]
	p.fail(name, fmt.Sprintf("want %s, as 500ms, 1m30s or 300 (seconds); %s", want, p.got(v)))
	return 0
}

// boolean returns name's value: true or 1, false or 0; false when absent.
func (p *params) boolean(name string) bool {
	switch v, _ := p.take(name); v {
	case "true", "1":
		return true
	case "false", "0", "":
		return false
	default:
		p.fail(name, fmt.Sprintf("want true, false, 1 or 0, %s", p.got(v)))
		return false
	}
}

// fileMode returns name's value, permission bits in octal (0600), or 0 when
// absent.
func (p *params) fileMode(name string) fs.FileMode {
	v, ok := p.take(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		p.fail(name, fmt.Sprintf("want permission bits in octal from 0 to 0777, as 0600, %s", p.got(v)))
		return 0
	}
	return fs.FileMode(n)
}

// finish returns the first bad value, or an error naming the first
// parameter no one took.
func (p *params) finish(scheme string) error {
	if p.err != nil {
		return p.err
	}
	if len(p.m) == 0 {
		return nil
	}
	left := make([]string, 0, len(p.m))
	for name := range p.m {
		left = append(left, name)
	}
	slices.Sort(left)
	valid := slices.Clone(p.asked)
	slices.Sort(valid)
	valid = slices.Compact(valid)
	if len(valid) == 0 {
		return paramError(left[0], "is unknown: "+scheme+":// takes no parameters", p.secret)
	}
	return paramError(left[0], fmt.Sprintf("is unknown for %s://; want one of %s", scheme, strings.Join(valid, ", ")), p.secret)
}
