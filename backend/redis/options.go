package redisstore

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
)

// Defaults for the clients a Store builds from a URL or ClientOptions.
const (
	// DefaultPrefix is the namespace of a Store whose Options.Prefix is empty.
	DefaultPrefix = "caching:"
	// DefaultDialTimeout bounds one connection attempt.
	DefaultDialTimeout = 500 * time.Millisecond
	// DefaultReadTimeout bounds one read from the server.
	DefaultReadTimeout = 500 * time.Millisecond
	// DefaultWriteTimeout bounds one write to the server.
	DefaultWriteTimeout = 500 * time.Millisecond
	// DefaultMaxRetries is how often a failed command is retried (not on a
	// Cluster: see Options.MaxRetries; Incr and Add, which are not
	// idempotent, are retried only when the command provably did not run:
	// see the package doc). The retry comes at once: a client the Store
	// builds never sleeps between tries.
	DefaultMaxRetries = 1
	// DefaultPoolTimeout bounds the wait for a free pooled connection when
	// all are in use (go-redis's default is ReadTimeout+1s).
	DefaultPoolTimeout = 500 * time.Millisecond
)

// Options configures a Backend. The zero value is not usable: exactly one of
// URL, ClientOptions and Client must be set. Every other zero field means its
// default.
type Options struct {
	// URL is the server to connect to. Schemes:
	//
	//	redis://[user:password@]host:port[/db][?option=value...]       one node
	//	rediss://...                                                   one node, TLS
	//	unix://[user:password@]/path/to/socket[?db=N]                  one node, Unix socket
	//	redis+cluster://[user:password@]h1:p1,h2:p2[?option=value...]  Redis Cluster (seed nodes)
	//	rediss+cluster://...                                           Redis Cluster, TLS
	//	redis+sentinel://[user:password@]h1:p1,h2:p2/master[/db][?...] Sentinel failover
	//	rediss+sentinel://...                                          Sentinel failover, TLS
	//
	// The query options are go-redis's (dial_timeout, pool_size, ...; see
	// redis.ParseURL, redis.ParseClusterURL and redis.ParseFailoverURL). In a
	// Sentinel URL the user and password authenticate with the Sentinels; the
	// master's are the query options username and password, as in
	// redis.ParseFailoverURL. A URL is configuration, so it is held to
	// what the Store promises: connection counts (pool_size,
	// min_idle_conns, max_idle_conns, max_active_conns) of at most 10000,
	// max_retries and max_redirects from -1 (none) to 10 (below -1 go-redis
	// sends no command at all, and every call "succeeds"), no negative
	// timeout (go-redis's "none"), no route_by_latency or route_randomly
	// for Sentinel (go-redis panics on them there), and no reads from
	// replicas (read_only, route_by_latency, route_randomly for a Cluster,
	// replica_only for Sentinel: a replica lags its master, so reads must go
	// to the masters for deletes and invalidations to hold), and no
	// context_timeout_enabled=false (a Sentinel URL's: a client the Store
	// builds always ends a call at its context's deadline) are errors
	// wrapping backend.ErrInvalidOption.
	URL string
	// ClientOptions describes the client to build, as go-redis's
	// redis.NewUniversalClient reads it: one address for a single node,
	// several (or IsClusterMode) for a Cluster, MasterName for Sentinel. It
	// is copied, not modified. As for URL, New refuses (with
	// backend.ErrInvalidOption) reads from replicas (ReadOnly,
	// RouteByLatency or RouteRandomly with several Addrs, IsClusterMode or a
	// MasterName), MaxRetries or MaxRedirects outside -1..10, and go-redis's
	// client-side caching (ClientSideCacheConfig, ClientSideCache), whose
	// memory the Store's writes do not reach: use backend/near instead.
	// MasterName with IsClusterMode is refused too: go-redis then builds
	// its failover cluster client, which shapes Sentinel's master as a
	// Cluster that refuses the CLUSTER commands Clear needs.
	ClientOptions *redis.UniversalOptions
	// Client is a client the caller already has (a *redis.Client, including
	// a Sentinel failover client, a *redis.ClusterClient, a *redis.Ring or
	// any other redis.UniversalClient). The Store uses it as it is
	// configured and never closes it: Close leaves it open for its owner.
	// It must be built with ContextTimeoutEnabled: true, so that a call
	// ends at its context's deadline (a Cache's Options.Timeout, a
	// caller's own): without it go-redis bounds each read and write by
	// ReadTimeout and WriteTimeout only (5 s by default, per try), and New
	// refuses the client, whatever those timeouts are, since the Store
	// cannot know its callers' deadlines. New also refuses, as far as
	// go-redis shows a client's options, one that reads from replicas (a
	// *redis.ClusterClient with ReadOnly, RouteByLatency or RouteRandomly,
	// as redis.NewFailoverClusterClient builds with them), one with
	// go-redis's client-side caching, and one whose retry or redirect count
	// is below -1 (a *redis.Client's, *redis.Ring's or *redis.ClusterClient's:
	// it sends no command). A program's type that embeds a
	// go-redis client (its Options method promoted) is checked, retried
	// and batched as the client it embeds; a client of another type (one
	// without go-redis's Options method) cannot be checked: it is taken
	// as it is, and must honour the context's deadline itself. A Sentinel
	// client with ReplicaOnly cannot be detected (go-redis keeps that
	// unexported): do not pass one, as its reads come from replicas. A nil
	// client (a typed nil, or a type that embeds a nil go-redis client) is
	// an error wrapping backend.ErrInvalidOption.
	Client redis.UniversalClient

	// Prefix is prepended to every key: it is the namespace that Clear
	// deletes and that keeps two backends on one server apart. Default
	// DefaultPrefix ("caching:"). A prefix holding a Redis Cluster hash tag,
	// such as "{myapp}:", puts every key in one slot (see the package doc).
	// A ':' is appended to a prefix that does not end with one, so that no
	// two prefixes overlap unless one is nested in the other ("t-1" and
	// "t-10" never do; "app:" holds "app:v2:", see the package doc).
	// The default is every application's: two applications (or two
	// Caches meant to be apart) on one server with the default read each
	// other's entries, and each one's Clear deletes the other's. Give each
	// its own prefix.
	Prefix string

	// DialTimeout bounds one connection attempt of a client the Store
	// builds. Default DefaultDialTimeout (500ms). A value set here wins over
	// the URL's dial_timeout and ClientOptions.DialTimeout, which win over the
	// default. It cannot be set with Client.
	DialTimeout time.Duration
	// ReadTimeout bounds one read of a client the Store builds. Default
	// DefaultReadTimeout (500ms); precedence as for DialTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds one write of a client the Store builds. Default
	// DefaultWriteTimeout (500ms); precedence as for DialTimeout.
	WriteTimeout time.Duration
	// MaxRetries is how often a client the Store builds retries a failed
	// command: 0 means DefaultMaxRetries (1), -1 means no retries, at most
	// 10. Precedence as for DialTimeout. Incr and Add are retried only
	// when the command provably did not run (see the package doc). A
	// Cluster client does not use it: its node clients make one try each,
	// and the Cluster client's own loop retries, up to MaxRedirects times
	// (go-redis's default 3, or the URL's max_redirects), which bounds its
	// redirects (MOVED, ASK) too.
	MaxRetries int

	// DeleteWithDEL makes Delete and Clear remove keys with DEL. By default
	// they use UNLINK (Redis 4.0 and later; Flask-Caching's unlink), which
	// removes the keys at once, as DEL does, and frees large lists, sets and
	// hashes in a background thread instead of the server's command thread
	// (strings, such as the values this Store writes, are freed at once by
	// both). A server that refuses UNLINK (an older Redis, a proxy that
	// lacks it, a renamed command, an ACL that allows DEL only) gets DEL
	// from then on without this option; set it for a server that takes
	// UNLINK but mishandles it. Default false.
	DeleteWithDEL bool

	// ClearFlushesDB makes Clear run FLUSHDB (on a Cluster, on every master)
	// instead of deleting the keys under Prefix. It is faster, and it deletes
	// every key of the database, this cache's or not: set it only for a
	// database given over to this cache alone. Default false.
	ClearFlushesDB bool
}

// optError reports an invalid Options field, naming the field and the valid
// range. It never holds a URL (which may carry a password).
func optError(field, format string, args ...any) error {
	return fmt.Errorf("redisstore: Options.%s: %s: %w", field, fmt.Sprintf(format, args...), backend.ErrInvalidOption)
}

func (o *Options) validate() error {
	n := 0
	for _, set := range []bool{o.URL != "", o.ClientOptions != nil, o.Client != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("redisstore: Options: set exactly one of URL, ClientOptions and Client: %w", backend.ErrInvalidOption)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"DialTimeout", o.DialTimeout}, {"ReadTimeout", o.ReadTimeout}, {"WriteTimeout", o.WriteTimeout}} {
		if d.v < 0 {
			return optError(d.name, "%v is negative; want 0 (default) or more", d.v)
		}
		if d.v != 0 && o.Client != nil {
			return optError(d.name, "has no effect with Options.Client; configure the client instead")
		}
	}
	if o.MaxRetries < -1 || o.MaxRetries > 10 {
		return optError("MaxRetries", "%d is out of range; want -1 (none), 0 (default %d) to 10", o.MaxRetries, DefaultMaxRetries)
	}
	if o.MaxRetries != 0 && o.Client != nil {
		return optError("MaxRetries", "has no effect with Options.Client; configure the client instead")
	}
	return nil
}

// knobs points at the fields of one of go-redis's option structs that the
// Store fills in, so that one function applies the defaults to all of them.
type knobs struct {
	dial, read, write      *time.Duration
	retries                *int
	dialerRetries          *int
	ctxTimeout             *bool
	minBackoff, maxBackoff *time.Duration
	poolTimeout            *time.Duration
}

// apply sets each knob to the Options value if set, else keeps what the URL
// or ClientOptions said, else the default. ContextTimeoutEnabled is always
// set: without it go-redis ignores the call's deadline.
func (o *Options) apply(k knobs) {
	pick := func(dst *time.Duration, opt, def time.Duration) {
		if opt != 0 {
			*dst = opt
		} else if *dst == 0 {
			*dst = def
		}
	}
	pick(k.dial, o.DialTimeout, DefaultDialTimeout)
	pick(k.read, o.ReadTimeout, DefaultReadTimeout)
	pick(k.write, o.WriteTimeout, DefaultWriteTimeout)
	if o.MaxRetries != 0 {
		*k.retries = o.MaxRetries
	} else if *k.retries == 0 {
		*k.retries = DefaultMaxRetries
	}
	// One dial attempt per connection (go-redis's default is 5, 100ms
	// apart): the command retries above are the only retries, so that a
	// dead server costs milliseconds.
	if *k.dialerRetries == 0 {
		*k.dialerRetries = 1
	}
	// No sleep before a retry (go-redis sleeps 10 to 30ms before the first;
	// on a Cluster, before each redirect that is not a MOVED or ASK): a
	// stopped server refuses the retry's dial at once, and a sleep only
	// holds the request. -1 is go-redis's "none". A URL or ClientOptions
	// that sets either bound keeps both as it says.
	if *k.minBackoff == 0 && *k.maxBackoff == 0 {
		*k.minBackoff, *k.maxBackoff = -1, -1
	}
	if *k.poolTimeout == 0 {
		*k.poolTimeout = DefaultPoolTimeout
	}
	*k.ctxTimeout = true
}

// newClient builds the client that the Options describe, or returns
// Options.Client. owned reports whether the Store built it.
func (o *Options) newClient() (c redis.UniversalClient, owned bool, err error) {
	switch {
	case o.Client != nil:
		if err := checkClient(o.Client); err != nil {
			return nil, false, err
		}
		return o.Client, false, nil
	case o.ClientOptions != nil:
		u := *o.ClientOptions
		o.apply(knobs{&u.DialTimeout, &u.ReadTimeout, &u.WriteTimeout, &u.MaxRetries, &u.DialerRetries, &u.ContextTimeoutEnabled,
			&u.MinRetryBackoff, &u.MaxRetryBackoff, &u.PoolTimeout})
		if err := checkClientOptions(&u); err != nil {
			return nil, false, err
		}
		if u.MasterName == "" && (len(u.Addrs) > 1 || u.IsClusterMode) {
			// The case of redis.NewUniversalClient that builds a Cluster.
			return newClusterClient(u.Cluster()), true, nil
		}
		return redis.NewUniversalClient(&u), true, nil
	}
	c, err = o.clientFromURL()
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

func (o *Options) clientFromURL() (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(o.URL, "://")
	if !ok {
		return nil, optError("URL", "has no scheme; want redis://, rediss://, unix://, redis+cluster:// or redis+sentinel://")
	}
	base, kind, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" && !(base == "unix" && kind == "") {
		return nil, optError("URL", "scheme %q is not supported; want redis, rediss, unix, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel", scheme)
	}
	if strayAt(base, rest) {
		return nil, optError("URL", "%s", strayAtReason)
	}
	var u *url.URL
	if kind != "" {
		var err error
		if u, err = multiHostURL(base, rest); err != nil {
			return nil, err
		}
	}
	switch kind {
	case "":
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		if err := checkURLLimits(opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns, opt.MaxActiveConns, 0,
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout); err != nil {
			return nil, err
		}
		if err := checkRetries("URL", "max_retries", opt.MaxRetries); err != nil {
			return nil, err
		}
		o.apply(knobs{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled,
			&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.PoolTimeout})
		return redis.NewClient(opt), nil
	case "cluster":
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, optError("URL", "a Redis Cluster has only database 0; remove the path")
		}
		u.Path = ""
		opt, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		if err := checkURLLimits(opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns, opt.MaxActiveConns, opt.MaxRedirects,
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout); err != nil {
			return nil, err
		}
		if err := checkRetries("URL", "max_retries", opt.MaxRetries); err != nil {
			return nil, err
		}
		if err := checkReplicaReads("URL", "read_only, route_by_latency and route_randomly", opt.ReadOnly || opt.RouteByLatency || opt.RouteRandomly); err != nil {
			return nil, err
		}
		o.apply(knobs{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled,
			&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.PoolTimeout})
		return newClusterClient(opt), nil
	case "sentinel":
		master, db, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if master == "" {
			return nil, optError("URL", "a Sentinel URL names its master in the path: redis+sentinel://host:port/master[/db]")
		}
		u.Path = "/" + db
		q := u.Query()
		q.Set("master_name", master)
		u.RawQuery = q.Encode()
		opt, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, urlError(o.URL, err)
		}
		if opt.RouteByLatency || opt.RouteRandomly {
			// go-redis's NewFailoverClient panics on them.
			return nil, optError("URL", "route_by_latency and route_randomly are for a Redis Cluster, not a Sentinel master")
		}
		if err := checkURLLimits(opt.PoolSize, opt.MinIdleConns, opt.MaxIdleConns, opt.MaxActiveConns, 0,
			opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout); err != nil {
			return nil, err
		}
		if err := checkRetries("URL", "max_retries", opt.MaxRetries); err != nil {
			return nil, err
		}
		if err := checkReplicaReads("URL", "replica_only", opt.ReplicaOnly); err != nil {
			return nil, err
		}
		if u.Query().Has("context_timeout_enabled") && !opt.ContextTimeoutEnabled {
			// The other schemes refuse it too: go-redis reads it for
			// Sentinel only ("unexpected option" elsewhere).
			return nil, optError("URL", "context_timeout_enabled is false: %s", urlIgnoresDeadlines)
		}
		o.apply(knobs{&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries, &opt.DialerRetries, &opt.ContextTimeoutEnabled,
			&opt.MinRetryBackoff, &opt.MaxRetryBackoff, &opt.PoolTimeout})
		return redis.NewFailoverClient(opt), nil
	}
	return nil, optError("URL", "scheme %q is not supported; want redis, rediss, unix, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel", scheme)
}

// newClusterClient builds a Cluster client whose node clients neither
// retry nor sleep: the Cluster client passes its MaxRetries to each node
// client and turns its "no backoff" (-1) into 0, which a node client reads
// as go-redis's default backoff (8ms to 512ms), inside its own loop of
// MaxRedirects+1 tries, which retries a failed node too. A stopped master
// cost each call 8 refused dials and ~80ms of sleeps, a hung one ReadTimeout
// × 8. With the node clients at one try, the Cluster's loop is the only
// retry: MaxRedirects+1 tries, none of them after a sleep when the Cluster
// has no backoff.
func newClusterClient(opt *redis.ClusterOptions) *redis.ClusterClient {
	next := opt.NewClient
	if next == nil {
		next = redis.NewClient
	}
	opt.NewClient = func(o *redis.Options) *redis.Client {
		o.MaxRetries = -1
		if o.MinRetryBackoff == 0 && o.MaxRetryBackoff == 0 {
			// The Cluster's -1, as its init left it: none.
			o.MinRetryBackoff, o.MaxRetryBackoff = -1, -1
		}
		return next(o)
	}
	return redis.NewClusterClient(opt)
}

// The most connections, and Cluster redirects, a URL may ask for: go-redis
// allocates for every pool slot when the client is built (a pool_size of a
// million took 274 MiB in New; 2^31-1 ended the process).
const (
	maxURLConns     = 10000
	maxURLRedirects = 10
)

// checkURLLimits refuses what a URL asks of go-redis beyond the Store's
// promises: connection counts past maxURLConns, redirects outside
// -1..maxURLRedirects, and a negative timeout, which go-redis reads as none
// (a cache never waits forever for its backend). Options and ClientOptions,
// set in code, are taken as they are, except for what checkRetries,
// checkReplicaReads and checkClientOptions refuse.
func checkURLLimits(pool, minIdle, maxIdle, maxActive, redirects int, timeouts ...time.Duration) error {
	for _, n := range []int{pool, minIdle, maxIdle, maxActive} {
		if n < 0 || n > maxURLConns {
			return optError("URL", "a connection count of %d is outside 0..%d", n, maxURLConns)
		}
	}
	if err := checkRetries("URL", "max_redirects", redirects); err != nil {
		return err
	}
	for _, d := range timeouts {
		if d < 0 {
			return optError("URL", "a negative timeout (%v) would wait forever; leave it out for the default", d)
		}
	}
	return nil
}

// checkRetries refuses a count of retries or redirects (field of what, as
// "URL" and "max_retries") outside -1 (none) to 10, as Options.MaxRetries.
// go-redis reads -1 as none and 0 as its default, and keeps any other
// negative count: its loop "for attempt := 0; attempt <= MaxRetries" then
// never runs, and every command returns a nil error without being sent (Set
// stores nothing, Get of any key is an empty hit, Add adds for everyone,
// Incr counts nothing).
func checkRetries(what, field string, n int) error {
	if n < -1 || n > maxURLRedirects {
		if what == "URL" {
			return optError("URL", "%s=%d is outside -1 (none) to %d; below -1 go-redis sends no command at all", field, n, maxURLRedirects)
		}
		return optError(what+"."+field, "%d is outside -1 (none) to %d; below -1 go-redis sends no command at all", n, maxURLRedirects)
	}
	return nil
}

// replicaReads is why a client that reads from replicas is refused.
const replicaReads = "reads from replicas are refused: a replica lags its master (and one cut off from it " +
	"keeps answering with what it had), so a read after the Store's own Set, Delete or InvalidateTags could " +
	"find the value from before it; reads must go to the masters for deletes and invalidations to hold"

// checkReplicaReads refuses, when on, options (named by which) that make
// go-redis send reads to replicas.
func checkReplicaReads(field, which string, on bool) error {
	if on {
		return optError(field, "%s: %s", which, replicaReads)
	}
	return nil
}

// goRedisCSC is why go-redis's own client-side caching is refused.
const goRedisCSC = "go-redis's client-side caching (ClientSideCacheConfig, ClientSideCache) is refused: it " +
	"answers reads from memory that it invalidates asynchronously and that the Store's own writes do not " +
	"reach, so a Get right after a Delete or InvalidateTags could find the value from before it; use " +
	"backend/near, which keeps a near copy that the Store's writes and Redis's invalidations drop in time"

// checkClientOptions refuses the ClientOptions that go-redis would turn
// into a client the Store cannot keep its promises with: reads from
// replicas (ReadOnly, RouteByLatency, RouteRandomly on a Cluster or a
// Sentinel master, where go-redis reads them; ReadOnly there is go-redis's
// ReplicaOnly), go-redis's client-side caching, and retries or redirects
// outside -1..10.
func checkClientOptions(u *redis.UniversalOptions) error {
	if u.ClientSideCacheConfig != nil || u.ClientSideCache != nil {
		return optError("ClientOptions", "%s", goRedisCSC)
	}
	if u.MasterName != "" && u.IsClusterMode {
		return optError("ClientOptions", "MasterName with IsClusterMode builds go-redis's failover cluster client, "+
			"whose master is no Cluster and refuses the CLUSTER commands Clear needs; drop IsClusterMode for Sentinel")
	}
	if u.MasterName != "" || len(u.Addrs) > 1 || u.IsClusterMode {
		if err := checkReplicaReads("ClientOptions", "ReadOnly, RouteByLatency and RouteRandomly", u.ReadOnly || u.RouteByLatency || u.RouteRandomly); err != nil {
			return err
		}
	}
	if err := checkRetries("ClientOptions", "MaxRetries", u.MaxRetries); err != nil {
		return err
	}
	return checkRetries("ClientOptions", "MaxRedirects", u.MaxRedirects)
}

// The options go-redis shows of its clients, and of a program's type that
// embeds one (its Options method is promoted): checkClient, retryPolicyOf
// and New see a client through these, not through its concrete type, so
// that such a wrapper is checked and used as the client it embeds. A
// *redis.Client (a Sentinel failover client too) is a clientOptioner, a
// *redis.ClusterClient a clusterOptioner, a *redis.Ring a ringOptioner.
type (
	clientOptioner  interface{ Options() *redis.Options }
	clusterOptioner interface{ Options() *redis.ClusterOptions }
	ringOptioner    interface{ Options() *redis.RingOptions }
)

// ignoresDeadlines is why a client without ContextTimeoutEnabled is refused.
const ignoresDeadlines = "its ContextTimeoutEnabled is false (go-redis's default): go-redis then bounds each " +
	"read and write by ReadTimeout and WriteTimeout only, never by the call's context, so a Cache's " +
	"Options.Timeout, or any caller's deadline, does not bound a call to a server that does not answer " +
	"(seconds per call, times its retries); build the client with ContextTimeoutEnabled: true"

// urlIgnoresDeadlines is why a URL with context_timeout_enabled false is
// refused.
const urlIgnoresDeadlines = "go-redis would then bound each read and write by read_timeout and write_timeout " +
	"only, never by the call's context, so a Cache's Options.Timeout, or any caller's deadline, would not bound " +
	"a call to a server that does not answer; leave it out (a Store's client always has it on)"

// checkClient refuses a caller's client, as far as go-redis shows its
// options (a go-redis client, or a type that embeds one), that reads from
// replicas, answers reads from go-redis's client-side cache, never sends a
// command (a retry or redirect count that go-redis's init left negative),
// or ignores the context's deadline (ContextTimeoutEnabled false), and a
// nil client (nilClient). A Sentinel client with ReplicaOnly cannot be
// told from one without: go-redis keeps that unexported. A client of
// another type is taken as it is.
func checkClient(c redis.UniversalClient) error {
	if nilClient(reflect.ValueOf(c)) {
		return optError("Client", "is nil, or a type that embeds a nil client (%T): set the client it wraps", c)
	}
	ctxTimeout := true
	switch c := c.(type) {
	case clientOptioner:
		o, ok := optionsOf(c.Options)
		if !ok {
			return zeroClient(c)
		}
		if o.ClientSideCacheConfig != nil || o.ClientSideCache != nil {
			return optError("Client", "%s", goRedisCSC)
		}
		if o.MaxRetries < 0 {
			return optError("Client", "its MaxRetries is below -1: go-redis sends no command at all; want -1 (none) or more")
		}
		ctxTimeout = o.ContextTimeoutEnabled
	case clusterOptioner:
		o, ok := optionsOf(c.Options)
		if !ok {
			return zeroClient(c)
		}
		if err := checkReplicaReads("Client", "a ClusterClient with ReadOnly, RouteByLatency or RouteRandomly (as NewFailoverClusterClient builds with them)",
			o.ReadOnly || o.RouteByLatency || o.RouteRandomly); err != nil {
			return err
		}
		// The Cluster's init reads MaxRedirects -1 as 0 (one try) and
		// keeps lower counts, which its loop never runs. It reads
		// MaxRetries 0 as -1 and keeps the rest, and gives the count to
		// each node's client, whose init reads -1 as 0 (one try) and
		// keeps lower ones: below -1, no node sends a command and each
		// reports nil (a Client's and a Ring's own init leave -1 at 0,
		// hence their bound of 0).
		if o.MaxRedirects < 0 || o.MaxRetries < -1 {
			return optError("Client", "its MaxRedirects or MaxRetries is below -1: go-redis sends no command at all; want -1 (none) or more")
		}
		ctxTimeout = o.ContextTimeoutEnabled
	case ringOptioner:
		o, ok := optionsOf(c.Options)
		if !ok {
			return zeroClient(c)
		}
		// The Ring's own loop tries MaxRetries+1 times: below -1 (still
		// negative after init), a command goes to no shard and returns nil.
		if o.MaxRetries < 0 {
			return optError("Client", "its MaxRetries is below -1: go-redis sends no command at all; want -1 (none) or more")
		}
		ctxTimeout = o.ContextTimeoutEnabled
	}
	if !ctxTimeout {
		return optError("Client", "%s", ignoresDeadlines)
	}
	return nil
}

// optionsOf returns what get, a go-redis client's Options method, returns,
// and false for a zero client (&redis.Client{}), whose Options returns nil
// or dereferences nil.
func optionsOf[O any](get func() *O) (o *O, ok bool) {
	defer func() {
		if recover() != nil {
			o, ok = nil, false
		}
	}()
	o = get()
	return o, o != nil
}

// zeroClient is New's error for a client that has no options: a zero
// value (&redis.Client{}), not made by go-redis's constructors, whose
// commands would dereference nil.
func zeroClient(c any) error {
	return optError("Client", "is a zero %T, not made by go-redis's constructor (NewClient, NewClusterClient, NewRing...)", c)
}

// universalClient is the type of redis.UniversalClient.
var universalClient = reflect.TypeFor[redis.UniversalClient]()

// nilClient reports whether v, a client or a field of one, is a nil
// pointer or interface, or a struct (or pointer to one) with an embedded
// client that is nil: a field whose type is a redis.UniversalClient, as
// *redis.Client or a program's wrapper of one, whose methods the struct
// promotes. Calling them would dereference nil: New would panic (in
// Options), or the first call. Other embedded fields (a logger) are not
// looked at.
func nilClient(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Invalid:
		return true
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
		return nilClient(v.Elem())
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Implements(universalClient) && nilClient(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// multiHostURL parses a URL whose host part is a comma-separated list, as
// base://[userinfo@]h1:p1,h2:p2/path?query, into a base:// URL with the
// first host as its host and the others as "addr" query options, the form
// go-redis's ParseClusterURL and ParseFailoverURL read.
func multiHostURL(base, rest string) (*url.URL, error) {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hosts := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	list := strings.Split(hosts, ",")
	for _, h := range list {
		if h == "" {
			return nil, optError("URL", "has an empty host in its host list")
		}
	}
	u, err := url.Parse(base + "://" + userinfo + list[0] + tail)
	if err != nil {
		return nil, urlError(rest, err)
	}
	if len(list) > 1 {
		q := u.Query()
		for _, h := range list[1:] {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// strayAtReason is the error of a URL with an '@' after its host.
const strayAtReason = "has an '@' after its host (in its path or fragment), where a user name or password " +
	"holding a raw '/', '?' or '#' puts it: write those characters of a user name or password %-encoded " +
	"('/' as %2F, '?' as %3F, '#' as %23, '@' as %40)"

// strayAt reports whether rest, a URL after its "base://", has an '@' in
// its path (a Unix socket's path may hold one, when no host precedes it)
// or in its fragment. A password holding a raw '/' or '#' ends the host
// early and leaves its '@' there: the URL would be read with part of the
// password as its host, and the rest of it as its path, both of which go
// into the client's errors and logs.
func strayAt(base, rest string) bool {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return false
	}
	authority, tail := rest[:end], rest[end:]
	tail, frag, _ := strings.Cut(tail, "#")
	if strings.Contains(frag, "@") {
		return true
	}
	path, _, _ := strings.Cut(tail, "?")
	host := authority[strings.LastIndexByte(authority, '@')+1:]
	if base == "unix" && host == "" {
		return false
	}
	return strings.Contains(path, "@")
}

// malformedURL replaces the error of go-redis or net/url about a URL with
// an '@': a password holding a raw '/', '?' or '#' is read as the host, or
// as the path, which their messages quote.
const malformedURL = "does not parse, and why is not shown, as the URL has an '@' and the reason could quote " +
	"part of a password: check its options, and write reserved characters of a user name or password " +
	"%-encoded ('/' as %2F, '?' as %3F, '#' as %23, '@' as %40, ':' in a user name as %3A)"

// urlError wraps err, from parsing raw (a URL, or its part after the
// scheme), without the URL itself, which may hold a password. The message
// of net/url or go-redis is kept only when raw has no '@', so that no
// user name or password can be in what it quotes.
func urlError(raw string, err error) error {
	if strings.Contains(raw, "@") {
		return optError("URL", "%s", malformedURL)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("redisstore: Options.URL: %w: %w", err, backend.ErrInvalidOption)
}
