package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
)

// Store stores entries in Redis: a single node, a Sentinel-managed master
// or a Redis Cluster. It is safe for concurrent use by multiple goroutines.
// Its one goroutine of its own reads the server's maxmemory, one at a
// time, started by a large write and ended by Close (see the package doc
// on maxmemory); the go-redis client it builds has its connection pool,
// which Close releases.
//
// It implements backend.Backend and the optional backend.GetManyer,
// backend.SetManyer, backend.Incrementer, backend.Haser and backend.Statser.
type Store struct {
	client redis.UniversalClient
	owned  bool // the Store built client and closes it
	mode   mode
	prefix string
	match  string // SCAN pattern of every key under prefix
	flush  bool
	closed atomic.Bool
	// useDEL: Delete and Clear send DEL, not UNLINK (Options.DeleteWithDEL,
	// or the server refused UNLINK once).
	useDEL atomic.Bool
	// retry: how Incr and Add resend a command the server did not run
	// (processNoRetry).
	retry retryPolicy
	// oomSize and oomUntil (Unix nanoseconds): until then, a value of
	// oomSize bytes or more is refused before it is sent, as one that
	// large was refused with OOM (oomRefused, oomGuarded). oomSize 0:
	// none since New.
	oomSize, oomUntil atomic.Int64
	// maxmem: the server's maxmemory as last read (0: no limit, or not
	// read); bulkMax: its proto-max-bulk-len as last read (0: not read;
	// defaultBulkMax serves); maxmemNext (Unix nanoseconds): when to read it again;
	// maxmemTried: it was read, or tried, once; maxmemDone: closed when
	// the read that runs ends (nil: none runs), under maxmemMu;
	// maxmemStop cancels that read (Close); maxmemByInfo: CONFIG was
	// refused, INFO tells; maxmemEnd: the deadline of the read that runs,
	// under maxmemMu; maxmemFor bounds the read, and Close's wait for it
	// past that deadline: maxmemReadFor, which a test may shorten
	// (maxmemory.go).
	maxmem, bulkMax, maxmemNext atomic.Int64
	maxmemFor                   time.Duration
	maxmemEnd                   time.Time
	maxmemTried                 atomic.Bool
	maxmemByInfo                atomic.Bool
	maxmemMu                    sync.Mutex
	maxmemDone                  chan struct{}
	maxmemStop                  context.CancelFunc

	// health: on a Cluster, the health of each master, whose keys are
	// refused at once while it is marked down (health.go); nil otherwise.
	health *clusterHealth

	// watchRefusedWait, when not 0, is the wait of the watches it starts
	// after a session the server refused, in place of 5s to 30s: a test's
	// (watch.go), which needs several refused attempts.
	watchRefusedWait time.Duration
}

// mode is how the Store sends commands on several keys.
type mode uint8

const (
	// modeSingle: one server holds every key; one command takes them all.
	modeSingle mode = iota
	// modeCluster: one command per hash slot, all in one pipeline.
	modeCluster
	// modePerKey: a client that routes by key in ways we cannot see (a
	// Ring, a wrapper): one command per key, all in one pipeline.
	modePerKey
)

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.SetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
	_ backend.Statser       = (*Store)(nil)
)

// Errors built once: a miss and a closed backend are common and must not
// allocate.
var (
	errMiss   = fmt.Errorf("redisstore: get: %w", backend.ErrNotFound)
	errClosed = fmt.Errorf("redisstore: %w", backend.ErrClosed)
)

// New returns a Store for the client that opts describe. It validates opts
// and builds the client but does not contact the server: a server that is
// down makes the calls fail, not New.
func New(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	client, owned, err := opts.newClient()
	if err != nil {
		return nil, err
	}
	prefix := keyPrefix(opts.Prefix)
	b := &Store{
		client: client,
		owned:  owned,
		prefix: prefix,
		match:  globEscape(prefix) + "*",
		flush:  opts.ClearFlushesDB,

		maxmemFor: maxmemReadFor,
	}
	b.useDEL.Store(opts.DeleteWithDEL)
	b.retry = retryPolicyOf(client)
	switch client.(type) {
	case clientOptioner: // a *redis.Client, or a type that embeds one
		b.mode = modeSingle
	case masterLister: // a *redis.ClusterClient, or a type that embeds one
		b.mode = modeCluster
		b.health = newClusterHealth(client)
	default:
		b.mode = modePerKey
	}
	return b, nil
}

// Must is New for program start-up: it panics if opts are invalid.
func Must(opts Options) *Store {
	b, err := New(opts)
	if err != nil {
		panic(err)
	}
	return b
}

// Client returns the go-redis client the Store uses, for what the Store
// does not do (pool statistics, health checks). Closing it closes the
// Store's connections.
func (b *Store) Client() redis.UniversalClient { return b.client }

// Prefix returns the namespace prepended to every key: Options.Prefix, with
// a ':' appended if it did not end with one, or DefaultPrefix.
func (b *Store) Prefix() string { return b.prefix }

// fail wraps err from operation op: go-redis's ErrClosed becomes
// backend.ErrClosed. err never holds a key: go-redis and Redis do not put
// keys in their errors.
func fail(op string, err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, backend.ErrClosed, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// px is a TTL in whole milliseconds, rounded up: Redis's resolution,
// capped at maxPX.
func px(ttl time.Duration) int64 {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return min(ms, maxPX)
}

// maxPX is the longest PX sent, 100 years: Redis refuses a PX whose
// deadline overflows its millisecond clock ("invalid expire time"), and
// servers that keep TTLs in nanoseconds (miniredis, some Redis-compatible
// stores) overflow past 292 years. A TTL of 100 years is as good as any
// longer one; it is kept rather than sending none, so that a volatile-*
// maxmemory policy may still evict the key.
const maxPX = 100 * 365 * 24 * 3600 * 1000

// setCmd builds SET key value [PX ms] [NX].
func setCmd(key string, value []byte, ttl time.Duration, nx bool) []any {
	args := make([]any, 3, 6)
	args[0], args[1], args[2] = "set", key, value
	if ttl > 0 {
		args = append(args, "px", px(ttl))
	}
	if nx {
		args = append(args, "nx")
	}
	return args
}

// Get returns the value stored under key, or an error wrapping
// backend.ErrNotFound. A key of another Redis type (a list, a hash: not an
// entry of this Store) reads as a miss, as it does in GetMany's MGET, and
// Set replaces it.
func (b *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if b.closed.Load() {
		return nil, errClosed
	}
	if err := b.keyGuard(ctx, "get", len(b.prefix)+len(key)); err != nil {
		return nil, err
	}
	c, err := b.admitKey(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	k := b.prefix + key
	v, err := b.client.Get(ctx, k).Bytes()
	b.done(ctx, c, k, err)
	if err != nil {
		// WRONGTYPE as a miss, not an error: a Cache counts an error as its
		// backend failing, and one stray key read five times would open its
		// circuit breaker for every caller.
		if err == redis.Nil || isWrongType(err) {
			return nil, errMiss
		}
		return nil, fail("get", err)
	}
	return v, nil
}

// Set stores value under key for ttl (0: no expiry) with one SET ... PX.
// TTLs are rounded up to a whole millisecond. A SET the server refuses
// under its maxmemory (OOM) gets an error wrapping backend.ErrValueTooLarge
// and removes the older value under key, and so does, without being sent,
// a value longer than the server's proto-max-bulk-len (512 MiB by
// default), one of more than a third of the server's maxmemory less 1 MiB,
// or, for a minute after such a refusal, a value as large as the one
// refused (1 MiB or more; see Limits in the package doc).
func (b *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if b.closed.Load() {
		return errClosed
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return fmt.Errorf("redisstore: set: %w", err)
	}
	if err := b.keyGuard(ctx, "set", len(b.prefix)+len(key)); err != nil {
		return err // a key the server cannot read holds nothing to remove
	}
	if err := b.guard(ctx, "set", len(value)); err != nil {
		return b.refuse(ctx, err, key)
	}
	c, err := b.admitKey(ctx, "set", key)
	if err != nil {
		return err
	}
	k := b.prefix + key
	cmd := redis.NewStatusCmd(ctx, setCmd(k, value, ttl, false)...)
	err = b.processIdempotent(ctx, b.client, b.retry, cmd, noRetryStatusCmd{cmd}, &c.impatient)
	b.done(ctx, c, k, err)
	if err != nil {
		if isOOM(err) {
			b.oomRefused(len(value))
			return b.refuse(ctx, noMemory("set", err), key)
		}
		return fail("set", err)
	}
	return nil
}

// After an OOM refusal of a value of n bytes, n >= oomGuardMin, the Store
// refuses values of n bytes or more for oomGuardFor without sending them:
// under an allkeys-* policy Redis may take a value larger than its
// maxmemory and then evict every key of the server to make room (every
// tenant's, all its databases, the value too), or evict them all and
// refuse it; a client whose response is that large would otherwise empty
// the server on each request, and the refusals are ErrValueTooLarge, which
// a Cache's breaker does not count. Smaller values are not guarded: under
// noeviction a full server refuses small writes too, and takes them again
// as soon as keys expire.
const (
	oomGuardFor = time.Minute
	oomGuardMin = 1 << 20
)

// oomRefused records that the server refused a value of n bytes with OOM.
func (b *Store) oomRefused(n int) {
	if n < oomGuardMin {
		return
	}
	b.oomSize.Store(int64(n))
	b.oomUntil.Store(time.Now().Add(oomGuardFor).UnixNano())
}

// oomGuarded reports whether a value of n bytes is to be refused without
// sending it: one as large was refused with OOM less than oomGuardFor ago.
// One atomic load for a value smaller than any refused.
func (b *Store) oomGuarded(n int) bool {
	size := b.oomSize.Load()
	return size > 0 && int64(n) >= size && time.Now().UnixNano() < b.oomUntil.Load()
}

// oomGuardError is the refusal, by operation op, of a value oomGuarded.
func (b *Store) oomGuardError(op string) error {
	return fmt.Errorf("redisstore: %s: %w: the server refused a value of %d bytes with OOM (no memory) less than %v ago; values as large are refused without sending them until then",
		op, backend.ErrValueTooLarge, b.oomSize.Load(), oomGuardFor)
}

// isOOM reports whether err is Redis's refusal of a write under its
// maxmemory ("OOM command not allowed when used memory > 'maxmemory'"): a
// value larger than the server can evict for (under an allkeys-* policy),
// or any write while the server is full and may not evict (noeviction, or
// a volatile-* policy with no key left that has a TTL). The server answered
// and goes on serving reads and deletes, so the refusal is the item's, as
// memcached's "out of memory" is: noMemory makes it
// backend.ErrValueTooLarge, which a Cache's circuit breaker does not count
// (a client making large responses would otherwise open it for everyone).
func isOOM(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "OOM ")
}

// noMemory wraps err, an OOM reply to operation op, as a refusal of the
// item: backend.ErrValueTooLarge.
func noMemory(op string, err error) error {
	return fmt.Errorf("redisstore: %s: %w: the server has no memory for it now: %w", op, backend.ErrValueTooLarge, err)
}

// refuse removes keys (without the prefix) after their writes were refused
// with err (an OOM, as noMemory wraps it): the callers have moved on from
// the older values (a database updated, say) and must not read them back.
// Redis refuses no UNLINK nor DEL under maxmemory. It returns err, joined
// with the delete's error if that failed.
func (b *Store) refuse(ctx context.Context, err error, keys ...string) error {
	if derr := b.Delete(ctx, keys...); derr != nil {
		return errors.Join(err, derr)
	}
	return err
}

// Add stores value under key only if the key is absent, atomically, with one
// SET ... PX ... NX, and reports whether it stored it. A key of another
// Redis type, which Get reads as a miss, counts as absent: when SET NX finds
// the key, one more round trip (TYPE) tells, and only a key that is not a
// string is replaced, by a script (atomic). Otherwise a lease under such a
// key would never be taken, and every miss of its entry would wait the
// lease out. SET NX and the script are retried only when the command
// provably did not run (see processNoRetry): a reply lost or later than
// ReadTimeout is an error (the value may or may not be stored), never a
// "not added" for a value that this very call stored. A write the server
// refuses under its maxmemory (OOM), or a value the Store does not send
// (longer than the server's proto-max-bulk-len, or over its maxmemory, as
// for Set), gets an error wrapping backend.ErrValueTooLarge and leaves the
// key as it was.
func (b *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if b.closed.Load() {
		return false, errClosed
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return false, fmt.Errorf("redisstore: add: %w", err)
	}
	if err := b.keyGuard(ctx, "add", len(b.prefix)+len(key)); err != nil {
		return false, err
	}
	if err := b.guard(ctx, "add", len(value)); err != nil {
		return false, err // removes nothing, as the server's refusal
	}
	c, err := b.admitKey(ctx, "add", key)
	if err != nil {
		return false, err
	}
	k := b.prefix + key
	cmd := redis.NewStatusCmd(ctx, setCmd(k, value, ttl, true)...)
	err = b.processNoRetry(ctx, noRetryStatusCmd{cmd}, &c.impatient)
	b.done(ctx, c, k, err)
	switch {
	case err == redis.Nil:
		return b.addOverForeign(ctx, c, k, value, ttl)
	case isOOM(err):
		// Refused before it looked at the key: what the key holds stays
		// (Add replaces nothing of a live entry, and a lease there is
		// another caller's).
		b.oomRefused(len(value))
		return false, noMemory("add", err)
	case err != nil:
		return false, fail("add", err)
	}
	return true, nil
}

// addOverForeign is Add for a key SET NX found: it stores value only if the
// key holds another type than a string. TYPE tells first, so that the
// common case, an entry or a lease under the key, needs no script (an ACL
// may deny EVAL and EVALSHA). The outcome of each command is noted for the
// health of the key's master (c, Add's call; see resent), as SET NX's is.
// k is the key as sent, Add's: it is not made again.
func (b *Store) addOverForeign(ctx context.Context, c call, k string, value []byte, ttl time.Duration) (bool, error) {
	c = b.resent(ctx, c)
	typ, err := b.client.Type(ctx, k).Result()
	b.done(ctx, c, k, err)
	if err != nil {
		return false, fail("add", err)
	}
	if typ == "string" || typ == "none" {
		return false, nil // an entry, or one that expired since: as SET NX said
	}
	// EVALSHA, then EVAL if the server lacks the script, as Script.Run
	// does, but neither retried unless it provably did not run: a retry
	// after the script ran would find the string it wrote and report "not
	// added". (Its only write is its last call: a refusal of it, READONLY
	// on a replica, leaves nothing written.)
	c = b.resent(ctx, c)
	cmd := redis.NewCmd(ctx, "evalsha", addOverForeignScript.Hash(), 1, k, value, px(ttl))
	err = b.processNoRetry(ctx, noRetryCmd{cmd}, &c.impatient)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = redis.NewCmd(ctx, "eval", addOverForeignSrc, 1, k, value, px(ttl))
		err = b.processNoRetry(ctx, noRetryCmd{cmd}, &c.impatient)
	}
	b.done(ctx, c, k, err)
	if isOOM(err) {
		b.oomRefused(len(value))
		return false, noMemory("add", err) // the script's SET refused: it wrote nothing
	}
	if err != nil {
		return false, fail("add", err)
	}
	n, err := cmd.Int()
	if err != nil {
		return false, fail("add", err)
	}
	return n == 1, nil
}

// addOverForeignScript sets KEYS[1] to ARGV[1] (with a TTL of ARGV[2]
// milliseconds, 0: none) unless it holds a string, and returns 1 when it did.
var addOverForeignScript = redis.NewScript(addOverForeignSrc)

const addOverForeignSrc = `
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'string' then return 0 end
if tonumber(ARGV[2]) > 0 then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
	redis.call('SET', KEYS[1], ARGV[1])
end
return 1`

// The commands that are not idempotent (INCRBY, SET NX, the script that
// adds over a foreign key) are sent wrapped in these, whose NoRetry tells
// go-redis not to retry them: its clients retry a command whose reply was
// lost (a connection reset) or late (a read timeout), after the server
// applied it. A retried INCRBY counts twice, and a retried SET NX finds its
// own value and reports "not added": a lease taker would then wait out its
// own lease. Without the retry, a lost reply is an error, which is the
// truth: whether the command was applied is unknown. go-redis v9 honours
// NoRetry in its single-node, Sentinel, Ring and Cluster loops; a Cluster
// still follows MOVED and ASK redirects, which the node answered without
// applying the command. NoRetry also stops go-redis's retries of failures
// where the command did not run: the Store makes those itself
// (processNoRetry).
type (
	noRetryIntCmd    struct{ *redis.IntCmd }
	noRetryStatusCmd struct{ *redis.StatusCmd }
	noRetryCmd       struct{ *redis.Cmd }
)

func (noRetryIntCmd) NoRetry() bool    { return true }
func (noRetryStatusCmd) NoRetry() bool { return true }
func (noRetryCmd) NoRetry() bool       { return true }

// SetErr sets the error of a try, as go-redis does after each, marked
// when a try was answered READONLY (markReadOnly).
func (c noRetryIntCmd) SetErr(err error)    { c.IntCmd.SetErr(markReadOnly(c.IntCmd, err)) }
func (c noRetryStatusCmd) SetErr(err error) { c.StatusCmd.SetErr(markReadOnly(c.StatusCmd, err)) }
func (c noRetryCmd) SetErr(err error)       { c.Cmd.SetErr(markReadOnly(c.Cmd, err)) }

func (c noRetryIntCmd) unmark() (time.Time, bool)    { return unmark(c.IntCmd) }
func (c noRetryStatusCmd) unmark() (time.Time, bool) { return unmark(c.StatusCmd) }
func (c noRetryCmd) unmark() (time.Time, bool)       { return unmark(c.Cmd) }

// readOnlyRetry is the error of a command of the Store's (a noRetry type)
// once a try of it was answered READONLY (a master demoted by a
// failover), at: go-redis's Cluster loop sends such a command again
// itself, after reloading its view (the Store does not: clientRetried),
// and the Store, which sees the last try's failure only, could not tell
// that the try that met its caller's deadline was such a retry, sent with
// less than minBlamedDeadline left, and blamed the master for it, where
// it excuses its own retry of a TRYAGAIN (retrying). The mark is kept by
// the errors of the later tries, and taken off by unmark, and off the
// error the try returns, by process; a pipeline's command, which go-redis
// does not send again after a READONLY, keeps it (it wraps the try's
// error: errors.As and errors.Is see through it).
type readOnlyRetry struct {
	error
	at time.Time
}

func (e *readOnlyRetry) Unwrap() error { return e.error }

// markReadOnly returns err, the error of a try of cmd, marked as a
// readOnlyRetry when the try was answered READONLY (at now) or an earlier
// one was (cmd's error, the last try's, is marked). A success (nil) costs
// one comparison; a miss (redis.Nil: an Add that found its key), two, and
// no allocation: redis.IsReadOnlyError allocates (errors.As).
func markReadOnly(cmd redis.Cmder, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*readOnlyRetry); ok {
		return err
	}
	if err != redis.Nil && redis.IsReadOnlyError(err) {
		return &readOnlyRetry{err, time.Now()}
	}
	if r, ok := cmd.Err().(*readOnlyRetry); ok {
		return &readOnlyRetry{err, r.at}
	}
	return err
}

// unmark takes the mark of a READONLY answer (readOnlyRetry) off cmd's
// error, the go-redis command a noRetry type wraps, and returns when that
// answer came; ok is false when it bore none.
func unmark(cmd redis.Cmder) (at time.Time, ok bool) {
	r, ok := cmd.Err().(*readOnlyRetry)
	if !ok {
		return time.Time{}, false
	}
	cmd.SetErr(r.error)
	return r.at, true
}

// processNoRetry sends cmd, a command that is not idempotent wrapped in a
// noRetry type, and sends it again, as go-redis would retry it (up to the
// client's MaxRetries, on a Cluster MaxRedirects, after the client's
// back-off; none for a client of another type), only while it failed in a
// way that proves the server did not run it (notRun), and while ctx lasts.
// It returns the last try's error, which cmd holds too. impatient is
// the call's (see call), read again before each retry (see retrying).
func (b *Store) processNoRetry(ctx context.Context, cmd redis.Cmder, impatient *bool) error {
	return b.processRetrying(ctx, b.client, b.retry, cmd, notRun, impatient)
}

// retrying reads again, before a retry of a call under ctx, whether its
// caller's deadline leaves it less than minBlamedDeadline (impatient, see
// call; nil for a call whose outcome tells no master's health, Clear's):
// the blame of the call's outcome, the last try's, is decided as for a
// call sent now. Read once before the first try, a retry that met its
// caller's deadline after a slow try refused (TRYAGAIN) counted against
// the master, though it was sent with too little time left to say
// anything of it. But once a try failed at the connection (failed: a lost
// connection, a dial refused, before the caller's deadline, as it was
// retried), the call is a failure of the master, as it is for a call sent
// once, whatever deadline the retry met: impatient is false for good.
// Excused with its last try, a master that drops connections while its
// callers' deadlines are short was never marked down.
func (b *Store) retrying(ctx context.Context, impatient *bool, failed bool) {
	if impatient != nil {
		*impatient = !failed && b.impatient(ctx)
	}
}

// processRetrying sends cmd, wrapped in a noRetry type, on c, whose retry
// policy is p, and sends it again as processNoRetry does, while again,
// told each failure, says to, but for a failure c retried itself
// (clientRetried), impatient read again before each retry (retrying).
func (b *Store) processRetrying(ctx context.Context, c processor, p retryPolicy, cmd redis.Cmder, again func(error) bool, impatient *bool) error {
	failed := false // a try failed at the connection (see retrying)
	err := b.process(ctx, c, cmd, impatient, failed)
	for attempt := 1; err != nil && attempt <= p.retries && again(err) && !p.clientRetried(err, false); attempt++ {
		if !p.pause(ctx, attempt) {
			return err
		}
		failed = failed || outcomeOf(err) == outcomeFailure
		b.retrying(ctx, impatient, failed)
		err = b.process(ctx, c, cmd, impatient, failed)
	}
	return err
}

// process sends cmd, a noRetry type, on c: one try of the Store's. When
// the client's Cluster loop answered READONLY sent it again itself
// (readOnlyRetry), and it failed, its impatience is read as of that
// answer, as retrying reads it before a retry of the Store's (failed:
// an earlier try of the Store's failed at the connection). The error it
// returns bears no mark, as cmd's does not: go-redis returns the
// command's error as the command holds it (marked) when it sent it again
// after an ASK, in a pipeline, and a miss so returned was no redis.Nil
// (an Add of a key that holds an entry failed).
func (b *Store) process(ctx context.Context, c processor, cmd redis.Cmder, impatient *bool, failed bool) error {
	err := c.Process(ctx, cmd)
	if err == nil {
		return nil
	}
	if m, ok := cmd.(interface{ unmark() (time.Time, bool) }); ok {
		if at, ok := m.unmark(); ok && impatient != nil {
			*impatient = !failed && b.impatientAt(ctx, at)
		}
	}
	if r, ok := err.(*readOnlyRetry); ok {
		return r.error
	}
	return err
}

// processor is a client that sends a command: the Store's, or one of its
// servers' (a Ring's shard, which Clear clears on its own).
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

// execIdempotent runs pipe, whose commands are idempotent writes (UNLINK,
// DEL) wrapped in a noRetry type, each after an ASKING with asking, and
// sends those that failed again in pipe, as processIdempotent sends one:
// after a failure that proves the server did not run it (notRun), or one
// of its connection (lostConn), up to p.retries times, after p's back-off,
// while ctx lasts; not after one the client retried itself
// (clientRetried). go-redis's own retries of a pipeline (a Cluster's)
// keep a command's first failure when a retry's dial fails, but a retry
// the server answers with a refusal (LOADING, a master restarted; READONLY,
// one that came back a replica) replaces it: the UNLINK whose reply was
// lost with its connection read as one the server refused, which surely
// did not run. As processIdempotent's, a command whose last try the server
// surely did not run, after one it may have, fails with a *ranError. It
// returns the first write's error, or pipe's when no write failed (a hook
// of the client's refused the pipeline). bl, nil for a call whose outcome
// tells no master's health (Clear's), gets the call's impatience read
// again before each retry (retrying), and the masters of the commands a
// try of which failed at the connection (blame).
func (b *Store) execIdempotent(ctx context.Context, pipe redis.Pipeliner, p retryPolicy, asking bool, bl *blame) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil || firstWriteErr(cmds) == nil {
		return err
	}
	var ran []error // per command: its first failure after which the server may have run it
	var again []int // the commands to send again
	for attempt := 1; attempt <= p.retries; attempt++ {
		again = again[:0]
		readOnly := false
		for i, cmd := range cmds {
			cerr := cmd.Err()
			if cerr == nil || !cmd.NoRetry() { // a success, or an ASKING
				continue
			}
			if !notRun(cerr) {
				if ran == nil {
					ran = make([]error, len(cmds))
				}
				if ran[i] == nil {
					ran[i] = cerr
				}
				if !lostConn(cerr) {
					continue
				}
			} else if p.clientRetried(cerr, true) {
				continue
			}
			readOnly = readOnly || redis.IsReadOnlyError(cerr)
			again = append(again, i)
		}
		if readOnly && len(again) > 0 {
			b.reloadTopology(ctx)
		}
		if len(again) == 0 || !p.pause(ctx, attempt) {
			break
		}
		bl.retrying(ctx, b, cmds)
		for _, i := range again {
			if asking {
				pipe.Do(ctx, "asking")
			}
			cmds[i].SetErr(nil) // else go-redis keeps this failure over a refused dial's
			_ = pipe.Process(ctx, cmds[i])
		}
		_, _ = pipe.Exec(ctx)
	}
	for i, cmd := range cmds {
		if cerr := cmd.Err(); ran != nil && ran[i] != nil && cmd.NoRetry() && cerr != nil && notRun(cerr) {
			cmd.SetErr(&ranError{ran: ran[i], last: cerr})
		}
	}
	return firstWriteErr(cmds)
}

// reloadTopology asks the Store's client, a Cluster's, to reload its view
// of the Cluster (ClusterClient.ReloadState: in the background, at once,
// once at a time), before the retry of a pipeline's command a node
// answered READONLY (a master demoted by a failover), as go-redis does
// before the retry of a command sent alone, but not of a pipeline's: the
// Store's retries went to the demoted master, which go-redis's view went
// on naming until something else reloaded it. Nothing on a client
// without ReloadState.
func (b *Store) reloadTopology(ctx context.Context) {
	if r, ok := b.client.(interface{ ReloadState(context.Context) }); ok {
		r.ReloadState(ctx)
	}
}

// firstWriteErr is the error of the first of cmds that failed among the
// writes execIdempotent sends (a noRetry type), not their ASKINGs.
func firstWriteErr(cmds []redis.Cmder) error {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && cmd.NoRetry() {
			return err
		}
	}
	return nil
}

// processIdempotent sends cmd, an idempotent write (SET, UNLINK, DEL)
// wrapped in a noRetry type, and sends it again as go-redis would retry
// it (processRetrying): after a failure that proves the server did not
// run it (notRun), or one of the connection it was sent on (lostConn),
// after which the server may have run it. go-redis's own retries return
// the last try's error only: a try whose reply was lost with its
// connection (the server going down), retried on a connection the server
// refused (restarting), failed with that refusal, which says that the
// command surely did not reach the server, and a Cache then kept a lease
// whose release had landed as its own (Cache.releaseLease). Such an error
// is now a *ranError: the failure after which the command may have run,
// the last try's told in its text only. cmd is sent on c, whose retry
// policy is p, as noRetry, which wraps it; on a client whose policy the
// Store cannot see (p.opaque), as it is, and the client retries it as it
// is configured to, as it did before the Store retried it. impatient is
// read again before each retry (retrying).
func (b *Store) processIdempotent(ctx context.Context, c processor, p retryPolicy, cmd, noRetry redis.Cmder, impatient *bool) error {
	if p.opaque {
		return c.Process(ctx, cmd)
	}
	cmd = noRetry
	var ran error // the first failure after which the server may have run cmd
	err := b.processRetrying(ctx, c, p, cmd, func(err error) bool {
		if notRun(err) {
			return true
		}
		if ran == nil {
			ran = err
		}
		return lostConn(err)
	}, impatient)
	if err != nil && ran != nil && notRun(err) {
		err = &ranError{ran: ran, last: err}
		cmd.SetErr(err)
	}
	return err
}

// ranError is the error of a write whose last try the server surely did
// not run (notRun: a dial refused, say), after an earlier try that it may
// have run (ran: its connection lost). It wraps ran only: a caller that
// asks whether the call surely did not reach the server (a refused
// connection) learns that it may have.
type ranError struct{ ran, last error }

func (e *ranError) Error() string { return e.ran.Error() + "; retried: " + e.last.Error() }
func (e *ranError) Unwrap() error { return e.ran }

// lostConn reports whether err is the failure of the connection a command
// was sent on, which go-redis retries an idempotent command after: closed
// (EOF) or reset, and any other network error but a timeout (a reply
// late, not lost, which go-redis retries only when the command's write
// timed out) or the context's end.
func lostConn(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && !ne.Timeout()
}

// notRun reports whether err proves that the server did not run the
// command: no connection was had for it (the pool's wait for one timed
// out, or the dial failed), or the server refused it with an error reply
// it sends instead of running a command (loading its data set, a
// read-only replica, a master link down or too few replicas, a Cluster
// down or asking to try again, too many clients, a script running too
// long). Never an I/O error or a timeout once the command may have been
// written: the server may have run it.
func notRun(err error) bool {
	if errors.Is(err, redis.ErrPoolTimeout) {
		return true
	}
	if isDialErr(err) {
		return true
	}
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := reply.Error()
	for _, prefix := range refusals {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// refusals are the prefixes of the error replies notRun counts: the
// server's refusals to run a command, which go-redis retries (but for
// BUSY, which it does not: the server refuses every command but a few
// while a script runs past busy-reply-threshold).
var refusals = []string{
	"LOADING ", "READONLY ", "MASTERDOWN ", "NOREPLICAS ", "CLUSTERDOWN ", "TRYAGAIN ",
	"ERR max number of clients reached", "BUSY ",
}

// retryPolicy is how go-redis's client retries a failed command: retries
// more tries at most, each after a back-off between minBackoff and
// maxBackoff (none when minBackoff is not positive: every client the Store
// builds).
type retryPolicy struct {
	retries                int
	minBackoff, maxBackoff time.Duration
	// cluster: the policy is a Cluster client's, whose own loop of
	// MaxRedirects+1 tries retries some failures of a NoRetry command
	// itself (clientRetried).
	cluster bool
	// opaque: the client's type shows no go-redis options (it delegates
	// to a client without embedding it): its policy is unknown, and the
	// Store retries nothing. Its idempotent writes are sent as they are,
	// for it to retry them as it is configured to: wrapped in a noRetry
	// type, they were retried by no one (a Set or Delete whose reply was
	// lost with a pooled connection failed).
	opaque bool
}

// clientRetried reports whether err, the failure of a command wrapped in a
// noRetry type that was sent on a client whose retry policy is p (in a
// pipeline, with pipelined), is one the client's own loop already retried
// up to its bound, after its back-off, NoRetry or not: on a Cluster, a
// command answered READONLY (go-redis reloads the topology and sends it
// again), and a pipeline's command whose node gave no connection (a dial
// refused, the pool's wait timed out), which go-redis sends again.
// Retried by the Store too, each of its tries made the client's, such a
// call cost (MaxRedirects+1)² tries and back-offs, not MaxRedirects+1: the
// dials of a stopped master by a pipelined Delete, the READONLY replies
// of a master turned replica to a Set, a Delete, an Incr or an Add.
func (p retryPolicy) clientRetried(err error, pipelined bool) bool {
	if !p.cluster {
		return false
	}
	if pipelined {
		return isDialErr(err) || errors.Is(err, redis.ErrPoolTimeout)
	}
	return redis.IsReadOnlyError(err)
}

// retryPolicyOf is c's retry policy, as its options say once go-redis
// initialised them: a Cluster client's loop retries up to MaxRedirects
// times. A type that embeds a go-redis client has the policy of the client
// it embeds; a client of another type shows none: no retries (opaque).
func retryPolicyOf(c redis.UniversalClient) retryPolicy {
	switch c := c.(type) {
	case clientOptioner:
		o := c.Options()
		return retryPolicy{retries: o.MaxRetries, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff}
	case clusterOptioner:
		o := c.Options()
		return retryPolicy{retries: o.MaxRedirects, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff, cluster: true}
	case ringOptioner:
		o := c.Options()
		return retryPolicy{retries: o.MaxRetries, minBackoff: o.MinRetryBackoff, maxBackoff: o.MaxRetryBackoff}
	}
	return retryPolicy{opaque: true}
}

// pause waits out the back-off before retry number attempt. It reports
// false, at once, when ctx ends first.
func (p retryPolicy) pause(ctx context.Context, attempt int) bool {
	if d := p.backoff(attempt); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		}
	}
	return ctx.Err() == nil
}

// backoff is the pause before retry number attempt (1 for the first), as
// go-redis computes it: a random duration from minBackoff to minBackoff <<
// attempt, capped at maxBackoff.
func (p retryPolicy) backoff(attempt int) time.Duration {
	if p.minBackoff <= 0 {
		return 0
	}
	d := p.minBackoff << uint(attempt)
	if d < p.minBackoff {
		return p.maxBackoff
	}
	d = p.minBackoff + rand.N(d)
	if d > p.maxBackoff || d < p.minBackoff {
		d = p.maxBackoff
	}
	return d
}

// Delete removes the keys: one UNLINK (or DEL; see Options.DeleteWithDEL)
// on a single node, one per hash slot in one pipeline on a Cluster.
func (b *Store) Delete(ctx context.Context, keys ...string) error {
	_, err := b.DeleteCount(ctx, keys...)
	return err
}

// DeleteCount removes the keys, as Delete does, and returns how many of
// them held an entry: the sum of what the server's UNLINK or DEL answered
// (backend.DeleteCounter). On a Cluster (or a Ring) where some masters
// fail (one down) and others answer, the keys of those that answer are
// deleted, and the call fails with the count of those deleted, as a
// DeleteCount of several memcached servers does. The keys of a Cluster
// master marked down are not sent: the others are deleted, and the call
// fails with the refusal (backend.ErrServerDown) unless they failed.
func (b *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) {
	if b.closed.Load() {
		return 0, errClosed
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if refused, kerr := b.refusedKeys(ctx, "delete", keys); refused != nil {
		// The others are deleted; a real failure of theirs is reported
		// rather than the refusal, for the breaker to see it.
		rest, _ := without(keys, refused)
		n, err := b.deleteCount(ctx, rest)
		if err != nil {
			return n, err
		}
		return n, kerr
	}
	return b.deleteCount(ctx, keys)
}

// deleteCount is DeleteCount of keys that are all to be sent.
func (b *Store) deleteCount(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	full := b.keys(keys)
	var n int64
	var batches []batch[*redis.IntCmd]
	// answered: the batches a run answered, counted. A run again with DEL
	// (a master refused UNLINK) finds their keys gone: they keep the
	// count of the UNLINK that deleted them.
	// Each run's batches are noted for the health of their masters: a
	// master that failed at the connection in the UNLINK run failed,
	// whatever the DEL run found.
	var answered []bool
	err := b.deleting(func() error {
		var err error
		bl := blame{impatient: b.impatient(ctx)} // the DEL run's, once the UNLINK one took its time
		batches, err = each(ctx, b, full, &bl, func(c redis.Cmdable, keys []string) *redis.IntCmd {
			return b.deleteCmd(ctx, c, b.retry, keys, &bl.impatient)
		})
		doneBatches(ctx, bl, b, batches)
		if answered == nil {
			answered = make([]bool, len(batches))
		}
		for i, bt := range batches {
			if i < len(answered) && answered[i] {
				continue
			}
			n += bt.cmd.Val()
			if i < len(answered) {
				answered[i] = bt.cmd.Err() == nil
			}
		}
		return err
	})
	if err != nil {
		// n counts the keys of the batches that were answered: those of
		// the masters up are deleted though one is down.
		return int(n), fail("delete", err)
	}
	return int(n), nil
}

// deleteCmd queues on c (a client or a pipeline) the command that removes
// keys: UNLINK, or DEL once the Store uses it. On a client, whose retry
// policy is p, it is sent (processIdempotent): on c itself, which is the
// Store's client or the server Clear scanned (a Ring's shard: the Ring
// would send it to the shard its first key's hash names, which need not
// hold the keys). On a pipeline it is sent with it, which execIdempotent
// runs. impatient is read again before each retry (retrying).
func (b *Store) deleteCmd(ctx context.Context, c redis.Cmdable, p retryPolicy, keys []string, impatient *bool) *redis.IntCmd {
	args := make([]any, 1+len(keys))
	args[0] = "unlink"
	if b.useDEL.Load() {
		args[0] = "del"
	}
	for i, k := range keys {
		args[1+i] = k
	}
	cmd := redis.NewIntCmd(ctx, args...)
	// A pipeline told by its type, not by comparing c with b.client: the
	// user's client may be of a type that is not comparable (a struct
	// value with a slice), and the comparison panics.
	if pipe, ok := c.(redis.Pipeliner); ok {
		if p.opaque {
			_ = pipe.Process(ctx, cmd) // retried as the client is configured to
		} else {
			_ = pipe.Process(ctx, noRetryIntCmd{cmd})
		}
		return cmd
	}
	_ = b.processIdempotent(ctx, c.(processor), p, cmd, noRetryIntCmd{cmd}, impatient)
	return cmd
}

// deleting runs del, which removes keys with deleteCmd; if the server
// refused UNLINK, the Store switches to DEL for good and runs del again.
func (b *Store) deleting(del func() error) error {
	err := del()
	if err != nil && !b.useDEL.Load() && refusedUnlink(err) {
		b.useDEL.Store(true)
		err = del()
	}
	return err
}

// refusedUnlink reports whether err is a server's refusal of the UNLINK
// command itself: unknown (Redis before 4.0, a proxy, a renamed command) or
// not permitted to this user.
func refusedUnlink(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := strings.ToLower(re.Error())
	return strings.Contains(msg, "unknown command") || strings.HasPrefix(msg, "noperm")
}

// GetMany returns one slot per key, nil for a miss. On a single node (and
// behind Sentinel) it is one MGET. On a Cluster, where MGET cannot span hash
// slots, it is one MGET per slot, sent in one pipeline: one round trip to
// each node involved, concurrently. Keys longer than the server reads
// (proto-max-bulk-len, with the prefix) are not sent: the others are read,
// and a *backend.GetManyError wrapping backend.ErrKeyRefused names them.
// On a Cluster (or a Ring), when some masters fail (one down) and others
// answer, the values of the keys read are returned with a
// *backend.GetManyError that names the keys not read and wraps the first
// real failure (rather than a neutral one, see backend.Neutral); the call
// fails as a whole when no key was read. The keys of a Cluster master
// marked down (see the package doc) are not sent: the *backend.GetManyError
// names them, and wraps the refusal (backend.ErrServerDown) when no other
// key failed.
func (b *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if b.closed.Load() {
		return nil, errClosed
	}
	if len(keys) == 0 {
		return [][]byte{}, nil
	}
	if refused, kerr := b.refusedKeys(ctx, "getmany", keys); refused != nil {
		return b.getManyRefused(ctx, keys, refused, kerr)
	}
	return b.getMany(ctx, keys)
}

// getMany is GetMany of keys that are all to be sent.
func (b *Store) getMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	bl := blame{impatient: b.impatient(ctx)}
	batches, err := each(ctx, b, b.keys(keys), nil, func(c redis.Cmdable, keys []string) *redis.SliceCmd {
		return c.MGet(ctx, keys...)
	})
	doneBatches(ctx, bl, b, batches)
	var unread []int
	var first error
	if err != nil {
		// A batch per slot (or key): those of the servers that answered
		// were read, as a GetMany of several memcached servers reads past
		// one down.
		for _, bt := range batches {
			berr := bt.cmd.Err()
			if berr == nil {
				continue
			}
			if first == nil || backend.Neutral(first) && !backend.Neutral(berr) {
				first = berr
			}
			for i := range bt.cmd.Args()[1:] {
				unread = append(unread, bt.index(i))
			}
		}
		if first == nil || len(unread) == len(keys) {
			return nil, fail("getmany", err)
		}
		slices.Sort(unread)
	}
	for _, bt := range batches {
		if bt.cmd.Err() != nil {
			continue
		}
		for i, v := range bt.cmd.Val() {
			s, ok := v.(string)
			if !ok {
				continue // nil: a miss
			}
			val := []byte{}
			if s != "" {
				val = []byte(s)
			}
			out[bt.index(i)] = val
		}
	}
	if unread != nil {
		return out, &backend.GetManyError{Unread: unread, Keys: len(keys), Err: fail("getmany", first)}
	}
	return out, nil
}

// getManyRefused is GetMany of keys some of which, at the positions refused,
// were refused with kerr (keysGuard): the others are read, and their
// values returned with a *backend.GetManyError that names the refused
// keys; a real failure of the others is the error of the whole call, as
// it would be without the refused keys, or, when it left some of them
// read (a Cluster master down), the error of the keys not read, which
// it names with the refused ones.
func (b *Store) getManyRefused(ctx context.Context, keys []string, refused []int, kerr error) ([][]byte, error) {
	out := make([][]byte, len(keys))
	if rest, at := without(keys, refused); len(rest) > 0 {
		vs, err := b.getMany(ctx, rest)
		var partial *backend.GetManyError
		switch {
		case errors.As(err, &partial):
			for _, i := range partial.Unread {
				refused = append(refused, at[i])
			}
			slices.Sort(refused)
			kerr = partial.Err // a real failure, ahead of the refusal
		case err != nil:
			return nil, err
		}
		for i, v := range vs {
			out[at[i]] = v
		}
	}
	return out, &backend.GetManyError{Unread: refused, Keys: len(keys), Err: kerr}
}

// SetMany stores the items with one SET ... PX each, all in one pipeline. It
// is not atomic: on error some items may have been stored. A negative TTL
// fails the call before anything is sent. The items the server refuses
// under its maxmemory (OOM), and those Set would not send (longer than the
// server's proto-max-bulk-len, or over its maxmemory), are refused as Set
// refuses one: their older values are removed, the other items are sent,
// and the error wraps backend.ErrValueTooLarge unless another item failed
// otherwise. The items of a Cluster master marked down are not sent, and
// remove nothing: the others are stored, and the error is the refusal
// (backend.ErrServerDown) unless another item failed.
func (b *Store) SetMany(ctx context.Context, items []backend.Item) error {
	if b.closed.Load() {
		return errClosed
	}
	for _, it := range items {
		if err := backend.CheckTTL(it.TTL); err != nil {
			return fmt.Errorf("redisstore: setmany: %w", err)
		}
	}
	switch len(items) {
	case 0:
		return nil
	case 1:
		return b.Set(ctx, items[0].Key, items[0].Value, items[0].TTL)
	}
	// Items longer than the server's proto-max-bulk-len, over a third of
	// its maxmemory less 1 MiB, or as large as one the server refused with
	// OOM, are refused without sending them (guard): one the server does
	// not read would cost the pipeline its connection, and the items after
	// it. A nil command stands for each.
	// An item whose key is longer than the server reads (keyGuard) is
	// not sent either, and removes nothing: no entry can be under it.
	// Nor is an item whose key's master is marked down (downKeys).
	var refused []string
	var oom, other, keyErr error
	down, derr := b.downKeys("setmany", len(items), func(i int) string { return items[i].Key })
	pipe := b.client.Pipeline()
	cmds := make([]*redis.StatusCmd, len(items))
	sent := 0
	for i, it := range items {
		if len(down) > 0 && down[0] == i {
			down = down[1:]
			continue
		}
		if err := b.keyGuard(ctx, "setmany", len(b.prefix)+len(it.Key)); err != nil {
			keyErr = err
			continue
		}
		if err := b.guard(ctx, "setmany", len(it.Value)); err != nil {
			refused = append(refused, it.Key)
			oom = err
			continue
		}
		cmds[i] = redis.NewStatusCmd(ctx, setCmd(b.prefix+it.Key, it.Value, it.TTL, false)...)
		if b.retry.opaque {
			_ = pipe.Process(ctx, cmds[i]) // retried as the client is configured to
		} else {
			_ = pipe.Process(ctx, noRetryStatusCmd{cmds[i]})
		}
		sent++
	}
	var err error
	if sent > 0 {
		bl := blame{impatient: b.impatient(ctx)}
		// The SETs are retried by the Store, as Set's are: go-redis's
		// own retries replaced a lost try's error with a retry's refusal
		// (a refused dial, LOADING), and the SetMany read as one the
		// server surely did not run, though it stored the values.
		if b.retry.opaque {
			_, err = pipe.Exec(ctx)
		} else {
			err = b.execIdempotent(ctx, pipe, b.retry, false, &bl)
		}
		b.doneMany(ctx, bl, len(cmds), func(i int) string { return sentKey(cmds[i]) },
			func(i int) (error, bool) {
				if cmds[i] == nil {
					return nil, false
				}
				return cmds[i].Err(), true
			})
	}
	if derr != nil {
		keyErr = derr // a refusal as keyGuard's; or the whole Cluster down, a real failure
	}
	if err == nil && len(refused) == 0 {
		return keyErr
	}
	// Items refused with OOM are refused as Set refuses one: their older
	// values are removed, and the error wraps backend.ErrValueTooLarge
	// unless another item failed otherwise.
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		switch cerr := cmd.Err(); {
		case cerr == nil:
		case isOOM(cerr):
			b.oomRefused(len(items[i].Value))
			refused = append(refused, items[i].Key)
			oom = noMemory("setmany", cerr)
		case other == nil:
			other = cerr
		}
	}
	// A real failure is reported alone, ahead of a refused key, for the
	// breaker to see it (backend.Neutral).
	if len(refused) == 0 {
		return fail("setmany", err)
	}
	if other != nil {
		return b.refuse(ctx, fail("setmany", other), refused...)
	}
	if derr != nil && !backend.Neutral(derr) {
		return b.refuse(ctx, derr, refused...)
	}
	if keyErr != nil {
		oom = errors.Join(oom, keyErr)
	}
	return b.refuse(ctx, oom, refused...)
}

// Incr adds delta to the integer under key with INCRBY and returns the new
// value. A missing key counts as 0 and is created without expiry; an
// existing key keeps its expiry. A value that is not a decimal integer
// (or a key of another Redis type), or a result past the int64 range,
// gives an error wrapping backend.ErrNotInteger and leaves the value as it
// was; INCRBY refused by a full Redis (OOM) gives an error wrapping
// backend.ErrValueTooLarge, as a refused Set. INCRBY is retried only when
// it provably did not run (see processNoRetry): a reply lost or later than
// ReadTimeout is an error, and the increment may or may not have been
// applied (a retry would apply it twice).
func (b *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if b.closed.Load() {
		return 0, errClosed
	}
	if err := b.keyGuard(ctx, "incr", len(b.prefix)+len(key)); err != nil {
		return 0, err
	}
	c, err := b.admitKey(ctx, "incr", key)
	if err != nil {
		return 0, err
	}
	k := b.prefix + key
	cmd := redis.NewIntCmd(ctx, "incrby", k, delta)
	_ = b.processNoRetry(ctx, noRetryIntCmd{cmd}, &c.impatient)
	n, err := cmd.Result()
	b.done(ctx, c, k, err)
	if err != nil {
		if isNotInteger(err) {
			return 0, fmt.Errorf("redisstore: incr: %w: %w", backend.ErrNotInteger, err)
		}
		if isOOM(err) {
			// The server answered: a full noeviction Redis refuses every
			// write, INCRBY too. As a refused Set, an answer and not a
			// failure of the server, which a Cache's breaker would count
			// (a full Redis would then open it for every caller).
			return 0, noMemory("incr", err)
		}
		return 0, fail("incr", err)
	}
	return n, nil
}

// isNotInteger reports whether err is Redis's answer to INCRBY on a value
// that is not an integer, on a key of another type, or whose result would
// overflow an int64 ("ERR increment or decrement would overflow"). These
// answers are the command's, not the server's state: as
// backend.ErrNotInteger, a Cache does not count them as failures of its
// backend, where a generic error would open its circuit breaker.
func isNotInteger(err error) bool {
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	return strings.Contains(msg, "not an integer") || strings.Contains(msg, "would overflow") || isWrongType(err)
}

// isWrongType reports whether err is Redis's answer to a command on a key
// of another type (a list, a hash, ...).
func isWrongType(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "WRONGTYPE")
}

// Has reports whether key holds a live entry, with TYPE (one round trip,
// as EXISTS, and O(1)): a key of another Redis type is no entry, as Get
// reads it.
func (b *Store) Has(ctx context.Context, key string) (bool, error) {
	if b.closed.Load() {
		return false, errClosed
	}
	if err := b.keyGuard(ctx, "has", len(b.prefix)+len(key)); err != nil {
		return false, err
	}
	c, err := b.admitKey(ctx, "has", key)
	if err != nil {
		return false, err
	}
	k := b.prefix + key
	t, err := b.client.Type(ctx, k).Result()
	b.done(ctx, c, k, err)
	if err != nil {
		return false, fail("has", err)
	}
	return t == "string", nil
}

// Stats reports what the Store knows without asking the server: nothing.
// Every field is -1. Redis's own INFO reports memory and evictions for the
// whole server, not for this cache's prefix.
func (b *Store) Stats() backend.Stats {
	return backend.Stats{Entries: -1, Bytes: -1, Evictions: -1}
}

// Close marks the Store closed, cancels the read of the server's maxmemory
// that runs, if one does, and waits for it to end (at once with a go-redis
// client), and, if the Store built its client (from URL or ClientOptions),
// closes the client. Once it returns, the Store sends nothing more by
// itself: a client passed in Options.Client, which is left open for its
// owner, may be closed then. Calls still in flight are not waited for.
// Close is idempotent; every call after it returns an error wrapping
// backend.ErrClosed.
//
// Close waits for the maxmemory read no longer than 2 s past the read's
// own deadline (4 s from its start): a read still running then (a hook of
// the client's that ignores its context's cancellation) is left to end by
// itself (go-redis sends no command under its cancelled context), and
// Close returns an error that says so, after closing the client it owns.
func (b *Store) Close() error {
	if b.closed.Swap(true) {
		// A second Close (a defer and a signal handler) keeps the promise
		// too: it waits for the read the first one cancelled.
		return b.stopMaxmemory()
	}
	err := b.stopMaxmemory()
	if !b.owned {
		return err
	}
	if cerr := b.client.Close(); cerr != nil && !errors.Is(cerr, redis.ErrClosed) {
		return errors.Join(err, fail("close", cerr))
	}
	return err
}
