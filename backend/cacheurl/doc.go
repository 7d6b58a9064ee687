// Package cacheurl opens a cache backend from one URL, so that a service
// picks its store by configuration alone (CACHE_URL=redis://... in one
// deployment, simple:// in another), as Flask-Caching's CACHE_TYPE and
// CACHE_REDIS_URL do:
//
//	opts, err := cacheurl.Options(os.Getenv("CACHE_URL"))
//	if err != nil {
//		return err // names the part of the URL that is wrong
//	}
//	opts.Logger = logger
//	c, err := caching.New(opts)
//
// Options also reads the Cache's own parameters (key_prefix,
// default_timeout); Open returns the backend alone.
//
// The package imports every backend; the caching package does not import
// it, so a program that does not use it links only the stores it names.
//
// # Schemes
//
//	simple://[?params]                                   in-process store (backend/simple)
//	null://                                              stores nothing: caching off (backend/null)
//	file:///var/cache/app[?params]                       one file per entry under that directory (backend/filesystem)
//	redis://[user:password@]host[:6379][/db][?params]    one Redis server (backend/redis)
//	rediss://...                                         the same over TLS
//	unix://[user:password@]/run/redis.sock[?db=N&...]    one Redis server on a Unix socket
//	redis+cluster://[user:password@]h1:p1,h2:p2[?params] a Redis Cluster, from its seed nodes
//	rediss+cluster://...                                 the same over TLS
//	redis+sentinel://[user:password@]h1:p1,h2:p2/master[/db][?params]
//	                                                     a Sentinel-managed Redis: the user and password
//	                                                     are the Sentinels'; the master's are the
//	                                                     username and password parameters
//	rediss+sentinel://...                                the same over TLS
//	memcached://h1[:11211],h2[:11211][?params]           a memcached server list (backend/memcached)
//
// A host without a port gets the service's default (6379, 26379 for
// Sentinel, 11211); an IPv6 address is written in brackets ([::1]:6379).
// Reserved characters of a user name or password are %-encoded. One
// pasted raw, with a '/' or '?' in it, would end the hosts early and read
// as a host, the rest of it as the path or a parameter: a URL with an '@'
// in its path (but a file's or a socket's) or in a parameter name is
// refused, with an error that shows none of it.
//
// # Parameters
//
// Each parameter is given once, with a value; one a scheme does not read is
// an error, not ignored. Numbers (counts, sizes, whole seconds, ports,
// database numbers) are decimal digits with no sign and no leading zero:
// 0, 5 and 300, never +5 (%2B5), -0 or 007; a negative is only the -1 a
// parameter documents. Durations are Go durations (500ms, 1m30s) with no
// sign, or whole seconds (300, as Flask-Caching and go-redis read them),
// and never negative, but for the -1 of sweep_interval, generation_ttl and
// generation_grace; sizes are bytes, with an optional unit (64MiB,
// 512KiB); booleans are true, false, 1 or 0; a count of 0 means the
// backend's default.
//
//	parameter           schemes           field                               Flask-Caching
//	key_prefix          all (Options)     caching.Options.KeyPrefix           CACHE_KEY_PREFIX
//	default_timeout     all (Options)     caching.Options.DefaultTTL          CACHE_DEFAULT_TIMEOUT (0: no expiry, as there)
//	max_entries         simple, file      MaxEntries (file: -1 no bound)      CACHE_THRESHOLD (threshold is accepted too)
//	max_bytes           simple, file      MaxBytes (file: -1 no bound)        —
//	shards              simple            Shards                              —
//	sweep_interval      simple, file      SweepInterval (-1: no sweep)        —
//	namespace           file, memcached   Namespace                           —
//	file_mode, dir_mode file              FileMode, DirMode (octal: 0600)     CACHE_OPTIONS={"mode": ...}
//	sync                file              Sync                                —
//	prefix              redis*, unix      Prefix (what Clear empties)         —
//	clear_flushes_db    redis*, unix      ClearFlushesDB                      —
//	timeout             memcached         Timeout                             —
//	max_idle_conns      memcached, redis* MaxIdleConns (0 to 10000)           —
//	max_item_size       memcached         MaxItemSize                         —
//	generation_ttl      memcached         GenerationTTL (-1: read each time)  —
//	generation_grace    memcached         GenerationGrace (-1: none)          —
//	flush_on_clear      memcached         FlushOnClear                        —
//	near                file, redis*,     a near cache in front (backend/near)  —
//	                    unix, memcached
//	near_max_stale      (with near=1)     near.Options.MaxStale               —
//	near_max_entries    (with near=1)     near.Options.MaxEntries             —
//	near_max_bytes      (with near=1)     near.Options.MaxBytes               —
//
// file_mode and dir_mode are checked as backend/filesystem's New checks
// FileMode and DirMode: a dir_mode granting the group write (dir_mode=0770,
// a cache shared by a group) needs a file_mode granting the group read
// (file_mode=0640 or 0660); with the default 0600 the URL is refused. A
// file_mode without owner read and write is refused on every system:
// file_mode=0440 (taken on Unix before) is file_mode=0640 now, which lets
// no one else at the files more.
//
// The near cache of near=1 logs to slog.Default(), as it is at each record
// (near.Options.Logger: its watch of invalidations failed or refused, and
// back, once per change): a slog.SetDefault before or after Open or
// Options puts these records in the program's logger.
//
// The Redis schemes (redis*, unix) also hand these go-redis options on to
// the client, after checking them (see redis.ParseURL): dial_timeout,
// read_timeout, write_timeout, pool_timeout, conn_max_idle_time,
// conn_max_lifetime (positive durations: a cache never waits forever),
// pool_size, min_idle_conns (dialed in the background from Open on, but
// for a cluster: see Open), max_idle_conns, max_active_conns (these four 0 to
// 10000: go-redis allocates for every slot of its pool in Open),
// max_retries (-1 to 10), protocol (2 or 3), client_name (the bytes '!' to
// '~' only: Redis refuses any other name, on every connection), pool_fifo; and
// skip_verify (rediss and rediss+sentinel), db (unix), max_redirects (0 to
// 10), read_only, route_by_latency, route_randomly (cluster), username,
// password, replica_only (sentinel). A Sentinel URL with route_by_latency or
// route_randomly is an error: they route among a cluster's nodes, and
// go-redis's Sentinel client refuses them. read_only, route_by_latency,
// route_randomly and replica_only are accepted only as false: true sends
// reads to replicas, which lag their master, so a read after the cache's
// own Delete or InvalidateTags could find the value from before it (see
// backend/redis).
//
// # From Flask-Caching's configuration
//
//	CACHE_TYPE = "SimpleCache"                  simple://
//	CACHE_TYPE = "NullCache"                    null://
//	CACHE_TYPE = "FileSystemCache", CACHE_DIR   file:///var/cache/app
//	CACHE_TYPE = "RedisCache", CACHE_REDIS_URL  redis://:password@host:6379/0 (the same URL)
//	CACHE_REDIS_HOST, _PORT, _PASSWORD, _DB     redis://:password@host:port/db
//	CACHE_TYPE = "RedisSentinelCache",          redis+sentinel://h1:26379,h2:26379/master/db
//	  CACHE_REDIS_SENTINELS, _SENTINEL_MASTER     (?password=... for the master)
//	CACHE_TYPE = "RedisClusterCache",           redis+cluster://h1:p1,h2:p2
//	  CACHE_REDIS_CLUSTER
//	CACHE_TYPE = "MemcachedCache",              memcached://h1:11211,h2:11211
//	  CACHE_MEMCACHED_SERVERS
//	CACHE_DEFAULT_TIMEOUT                       ?default_timeout=300
//	CACHE_KEY_PREFIX                            ?key_prefix=app: (on every backend, not Redis and memcached only)
//	CACHE_THRESHOLD                             ?max_entries= or ?threshold= (simple, file)
//	CACHE_OPTIONS                               the backend's parameters above
//	CACHE_MEMCACHED_USERNAME, _PASSWORD         not offered: the memcached client has no SASL
//	CACHE_IGNORE_ERRORS                         not needed: Cached and Memoize fail open always
//	CACHE_ARGS                                  the backend's parameters above (positional arguments have no URL form)
//	CACHE_UWSGI_NAME                            not offered
//
// # Errors
//
// Every error of Open and Options wraps ErrInvalidURL and is an *Error that
// names the part that is wrong: the scheme, the user, a host, the path, a
// parameter's name or value, or the combination the backend refused. No
// error holds the URL or a password: they are safe to log. In a URL with an
// '@' after its hosts (in a parameter value, say), what looks like a host
// or a parameter may be the tail of a password, so that an error about a
// host or a parameter does not say which: %-encode the '@' to see it.
// Likewise a raw '&' in a password (the master's password parameter, say)
// makes the rest of it read as another parameter: in a URL with a
// password, an error about a parameter that no scheme reads says "an
// unknown parameter", without its name (Error.Param is ""); write the '&'
// as %26. Redact makes a URL safe to log.
package cacheurl
