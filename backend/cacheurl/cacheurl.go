package cacheurl

import (
	"errors"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/null"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
)

// openers open the backend of each scheme.
var openers = map[string]func(*cacheURL) (backend.Backend, error){
	"simple":          openSimple,
	"null":            openNull,
	"file":            withNear(openFile),
	"redis":           withNear(openRedis),
	"rediss":          withNear(openRedis),
	"redis+cluster":   withNear(openRedis),
	"rediss+cluster":  withNear(openRedis),
	"redis+sentinel":  withNear(openRedis),
	"rediss+sentinel": withNear(openRedis),
	"unix":            withNear(openRedis),
	"memcached":       withNear(openMemcached),
}

const schemeList = "simple, null, file, redis, rediss, redis+cluster, rediss+cluster, redis+sentinel, rediss+sentinel, unix or memcached"

// cacheParams are the parameters of the Cache rather than of its backend:
// Options reads them, Open refuses them.
var cacheParams = []string{"key_prefix", "default_timeout"}

// Open opens the backend rawURL names, with the backend's options from the
// URL's query parameters (see the package doc for the schemes and
// parameters). The caller owns the backend: close it, or hand it to
// caching.New, whose Cache closes it.
//
// Every error wraps ErrInvalidURL and is an *Error naming the part of the
// URL that is wrong; none holds the URL or a password. An unknown parameter
// is an error, and so are the Cache's own parameters (key_prefix,
// default_timeout), which only Options reads. Open dials nothing, but for
// min_idle_conns on a URL of one Redis server or a Sentinel-managed master:
// go-redis then starts dialing that many connections (at most pool_size;
// for Sentinel, the Sentinels first) in the background as Open builds the
// client, without Open waiting for them (a cluster's node clients do so
// on the first call); and for near=1 on a Redis URL (redis*, unix): the
// near cache's invalidation watch starts in the background as Open
// returns, connects to the server at once (on a Cluster, to every master,
// which it lists again every second), stays connected until Close, and
// redials with back-off while the server is down. Either way a server
// that is down shows on the first call, not in Open (and so does a host
// name that does not resolve). It is safe for concurrent use.
func Open(rawURL string) (backend.Backend, error) {
	u, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	for _, name := range cacheParams {
		if u.params.has(name) {
			return nil, u.hide(invalidParam(name, "is an option of the Cache, not of its backend: read the URL with cacheurl.Options"))
		}
	}
	b, err := openers[u.scheme](u)
	return b, u.hide(err)
}

// Options returns the caching.Options rawURL describes: Backend opened as
// Open opens it, KeyPrefix from key_prefix and DefaultTTL from
// default_timeout (Flask-Caching's CACHE_KEY_PREFIX and
// CACHE_DEFAULT_TIMEOUT; default_timeout=0 means no expiry, as in
// Flask-Caching, and becomes caching.Forever). Set the other fields (Logger,
// Codec, ...) before calling caching.New; if caching.New then fails, close
// the returned Backend. Errors are those of Open. It is safe for concurrent
// use.
func Options(rawURL string) (*caching.Options, error) {
	u, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	p := u.params
	opts := &caching.Options{KeyPrefix: p.str("key_prefix")}
	given := p.has("default_timeout")
	opts.DefaultTTL = p.duration("default_timeout", nonNegative)
	if given && opts.DefaultTTL == 0 && p.err == nil {
		opts.DefaultTTL = caching.Forever // Flask-Caching's 0: no expiry
	}
	if opts.Backend, err = openers[u.scheme](u); err != nil {
		return nil, u.hide(err)
	}
	return opts, nil
}

// Redact returns rawURL with its password, and the value of any parameter
// whose name holds "password", replaced by "xxxxx", for a log line. A URL
// with a password (as userinfo or a parameter) keeps only the parameters
// some scheme reads: a raw '&' in a password makes the rest of it read as
// another parameter. A URL whose query does not
// parse loses its query, one with a fragment loses the fragment, one
// without "scheme://" is replaced by "(malformed)", and one with an '@'
// after its hosts (in the path, the query or the fragment) by
// "scheme://(redacted)": a password holding a raw '/', '?' or '#' puts its
// '@' there, and all that comes before it may be the password.
func Redact(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || !validScheme(scheme) {
		return "(malformed)"
	}
	rest, frag, hasFrag := strings.Cut(rest, "#")
	rest, rawQuery, hasQuery := strings.Cut(rest, "?")
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if strings.Contains(path+rawQuery+frag, "@") {
		return scheme + "://(redacted)"
	}
	secret := false
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		if user, _, hasPass := strings.Cut(authority[:i], ":"); hasPass {
			authority = user + ":xxxxx" + authority[i:]
			secret = true
		}
	}
	out := scheme + "://" + authority + path
	if hasQuery {
		out += "?" + redactQuery(rawQuery, secret)
	}
	if hasFrag {
		out += "#(removed)" // a cache URL has no fragment: whatever is there may be secret
	}
	return out
}

// redactQuery returns rawQuery, or "(malformed)" when it does not parse.
// When the URL holds a password (secret: its userinfo does; or a parameter
// whose name holds "password"), it drops the parameters no scheme reads,
// which may be the tail of a password with a raw '&', and replaces the
// value of the password parameters by "xxxxx".
func redactQuery(rawQuery string, secret bool) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "(malformed)"
	}
	for name := range q {
		secret = secret || passwordParam(name)
	}
	if !secret {
		return rawQuery
	}
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		rawName, _, _ := strings.Cut(pair, "=")
		name, _ := url.QueryUnescape(rawName) // it parsed above
		switch {
		case !knownParams[name]:
		case passwordParam(name):
			kept = append(kept, rawName+"=xxxxx")
		default:
			kept = append(kept, pair)
		}
	}
	return strings.Join(kept, "&")
}

// backendError wraps the error of a backend's constructor, which refused
// the values it was given.
func backendError(err error) error {
	return &Error{Part: "options", Reason: "the backend refused them", Err: err}
}

func openSimple(u *cacheURL) (backend.Backend, error) {
	if err := errors.Join(u.noUser(), u.noHost(false), u.noPath()); err != nil {
		return nil, err
	}
	p := u.params
	p.alias("threshold", "max_entries")
	o := simple.Options{
		MaxEntries:    p.integer("max_entries", 0, maxCount, wantCount),
		MaxBytes:      p.size("max_bytes", false),
		Shards:        p.integer("shards", 0, simple.MaxShards, "a power of two from 1 to 65536, or 0 (the default)"),
		SweepInterval: p.duration("sweep_interval", positiveOrOff),
	}
	if err := p.finish(u.scheme); err != nil {
		return nil, err
	}
	b, err := simple.New(o)
	if err != nil {
		return nil, backendError(err)
	}
	return b, nil
}

func openNull(u *cacheURL) (backend.Backend, error) {
	if err := errors.Join(u.noUser(), u.noHost(false), u.noPath(), u.params.finish(u.scheme)); err != nil {
		return nil, err
	}
	return null.New(), nil
}

func openFile(u *cacheURL) (backend.Backend, error) {
	if err := errors.Join(u.noUser(), u.noHost(true)); err != nil {
		return nil, err
	}
	dir := u.path
	if runtime.GOOS == "windows" && len(dir) > 2 && dir[2] == ':' {
		dir = dir[1:] // file:///C:/cache
	}
	if dir == "" {
		return nil, invalid("path", "missing; want the cache directory, as in file:///var/cache/app")
	}
	p := u.params
	p.alias("threshold", "max_entries")
	o := filesystem.Options{
		Dir:           filepath.FromSlash(dir),
		Namespace:     p.str("namespace"),
		MaxEntries:    p.integer("max_entries", -1, maxCount, "an integer, 0 (the default) or more, or -1 (no bound)"),
		MaxBytes:      p.size("max_bytes", true),
		FileMode:      p.fileMode("file_mode"),
		DirMode:       p.fileMode("dir_mode"),
		Sync:          p.boolean("sync"),
		SweepInterval: p.duration("sweep_interval", positiveOrOff),
	}
	if err := p.finish(u.scheme); err != nil {
		return nil, err
	}
	b, err := filesystem.New(o)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return nil, &Error{Part: "path", Reason: "cannot be used as the cache directory", Err: err}
	}
	if err != nil {
		return nil, backendError(err)
	}
	return b, nil
}

func openMemcached(u *cacheURL) (backend.Backend, error) {
	if err := errors.Join(u.noUser(), u.noPath()); err != nil {
		return nil, err
	}
	servers, err := u.hostPorts("11211", 0)
	if err != nil {
		return nil, err
	}
	p := u.params
	o := memcached.Options{
		Servers:         servers,
		Namespace:       p.str("namespace"),
		Timeout:         p.duration("timeout", positive),
		MaxIdleConns:    p.integer("max_idle_conns", 0, maxConns, wantConns),
		MaxItemSize:     int(p.size("max_item_size", false)),
		GenerationTTL:   p.duration("generation_ttl", positiveOrOff),
		GenerationGrace: p.duration("generation_grace", positiveOrOff),
		FlushOnClear:    p.boolean("flush_on_clear"),
	}
	if err := p.finish(u.scheme); err != nil {
		return nil, err
	}
	b, err := memcached.New(o)
	if err != nil {
		return nil, backendError(err)
	}
	return b, nil
}

// go-redis's own parameters that the Redis schemes hand on to it, after
// checking them: the ones every kind of client reads, then those of one
// kind.
var (
	redisDurations = []string{"dial_timeout", "read_timeout", "write_timeout", "pool_timeout", "conn_max_idle_time", "conn_max_lifetime"}
	redisCounts    = []string{"pool_size", "min_idle_conns", "max_idle_conns", "max_active_conns"}
	redisKindBools = map[string][]string{
		"":         {"pool_fifo"},
		"cluster":  {"pool_fifo", "read_only", "route_by_latency", "route_randomly"},
		"sentinel": {"pool_fifo", "replica_only"},
	}
	// clusterOnly are the go-redis options that go-redis reads for a
	// Sentinel URL too, but that its Sentinel client refuses with a panic:
	// they route among a cluster's nodes.
	clusterOnly = []string{"route_by_latency", "route_randomly"}
	// replicaReads are the options that send reads to replicas: known, so
	// that false is accepted, but refused when true (redisstore refuses them).
	replicaReads = map[string]bool{"read_only": true, "route_by_latency": true, "route_randomly": true, "replica_only": true}
)

func openRedis(u *cacheURL) (backend.Backend, error) {
	base, kind, _ := strings.Cut(u.scheme, "+")
	tls := base == "rediss"
	p := u.params
	var (
		hosts []string
		err   error
	)
	switch kind {
	case "":
		if base == "unix" {
			err = u.noHost(false)
			if err == nil && !strings.HasPrefix(u.path, "/") {
				err = invalid("path", "missing; want the socket's path, as in unix:///run/redis.sock")
			}
			p.keep("db")
			p.integer("db", 0, maxCount, "a database number, 0 or more")
			break
		}
		hosts, err = u.hostPorts("6379", 1)
		if err == nil && !validDB(strings.TrimPrefix(u.path, "/")) {
			err = invalid("path", "want the database number, as in redis://host:6379/0, or none")
		}
	case "cluster":
		hosts, err = u.hostPorts("6379", 0)
		if db := strings.TrimPrefix(u.path, "/"); err == nil && db != "" && db != "0" {
			err = invalid("path", "a Redis Cluster has only database 0; remove the path")
		}
		p.keep("max_redirects")
		p.integer("max_redirects", 0, maxRedirects, wantRedirect)
	case "sentinel":
		hosts, err = u.hostPorts("26379", 0)
		master, db, _ := strings.Cut(strings.TrimPrefix(u.path, "/"), "/")
		if err == nil && (master == "" || !validDB(db)) {
			err = invalid("path", "want the master's name and an optional database number, as in redis+sentinel://host:26379/mymaster/0")
		}
		for _, name := range []string{"username", "password"} {
			p.keep(name)
			p.str(name)
		}
		for _, name := range clusterOnly {
			if p.has(name) {
				p.str(name)
				p.fail(name, "is for redis+cluster:// only: a Sentinel-managed client sends every command to the master, or to a replica with replica_only=1")
			}
		}
	}
	if err != nil {
		return nil, err
	}

	prefix := p.str("prefix")
	flush := p.boolean("clear_flushes_db")
	p.keep("client_name")
	if name := p.str("client_name"); !validClientName(name) {
		p.fail("client_name", "want a name of the bytes '!' to '~' (printable ASCII, no space): "+
			"Redis refuses any other in the CLIENT SETNAME go-redis sends on every connection, "+p.got(name))
	}
	p.keep("protocol")
	p.integer("protocol", 2, 3, "2 or 3")
	p.keep("max_retries")
	p.integer("max_retries", -1, 10, "an integer from 1 to 10, 0 (the default) or -1 (none)")
	for _, name := range redisDurations {
		p.keep(name)
		p.duration(name, positive)
	}
	for _, name := range redisCounts {
		p.keep(name)
		p.integer(name, 0, maxConns, wantConns)
	}
	bools := redisKindBools[kind]
	if tls && kind != "cluster" { // go-redis reads skip_verify for these only
		bools = append(bools, "skip_verify")
	}
	for _, name := range bools {
		p.keep(name)
		if p.boolean(name) && replicaReads[name] {
			p.fail(name, "reads from replicas are refused: a replica lags its master, so a read after the cache's own "+
				"Delete or InvalidateTags could find the value from before it; reads must go to the masters for "+
				"invalidations to hold (leave it out, or false)")
		}
	}
	if err := p.finish(u.scheme); err != nil {
		return nil, err
	}

	// The URL redisstore reads: the hosts with their ports, only go-redis's
	// parameters.
	rebuilt := u.scheme + "://"
	if u.userinfo != "" {
		rebuilt += u.userinfo + "@"
	}
	rebuilt += strings.Join(hosts, ",") + u.rawPath
	if len(p.pass) > 0 {
		rebuilt += "?" + p.pass.Encode()
	}
	b, err := redisstore.New(redisstore.Options{URL: rebuilt, Prefix: prefix, ClearFlushesDB: flush})
	if err != nil {
		return nil, backendError(err)
	}
	return b, nil
}

// validDB reports whether s is a database number (as decimal reads one,
// of 9 digits at most), or empty (the default).
func validDB(s string) bool {
	if s == "" {
		return true
	}
	_, ok := decimal(s, false)
	return ok && len(s) <= 9
}

// validClientName reports whether Redis accepts name in CLIENT SETNAME:
// every byte from '!' to '~'.
func validClientName(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] < '!' || name[i] > '~' {
			return false
		}
	}
	return true
}
