package memcached

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/keyerrs"
)

// Defaults for the zero fields of Options.
const (
	DefaultNamespace     = "caching"
	DefaultTimeout       = 250 * time.Millisecond
	DefaultMaxIdleConns  = 16
	DefaultMaxItemSize   = 1 << 20
	DefaultGenerationTTL = time.Second
	// DefaultGenerationGrace is how long past GenerationTTL a generation
	// read earlier stays in use while the generation cannot be read.
	DefaultGenerationGrace = time.Minute
)

// generationRetry is the least time between two reads of the namespace
// generation after one failed: calls in between use the generation read
// before (within Options.GenerationGrace), or fail with the error of the
// read that failed, and dial nothing, so that a generation server down or
// hung costs one read per second, not one per call. Delete and DeleteCount
// read it every time otherwise, and fail in between (see deletePrefixes).
const generationRetry = time.Second

// itemOverhead is what memcached stores with each item besides its key and
// value (item header, CAS, flags and suffix, CRLF), rounded up.
const itemOverhead = 96

// Options configures a Store. Zero fields mean their defaults.
type Options struct {
	// Servers lists the memcached servers as host:port (or a Unix socket
	// path: any server with a '/'). Keys are spread over them as by
	// gomemcache's ServerList: CRC-32 of the key modulo the number of
	// servers, so adding or removing a server moves most keys (a cache then
	// misses until it refills). Host names are resolved at each new
	// connection, not by New, which checks only that each server has a host
	// and a numeric port. Required.
	Servers []string
	// Namespace prefixes every key, so that caches sharing servers do not
	// see each other's entries and Clear can drop one cache's. Letters,
	// digits, '.', '_' and '-', at most 64 bytes. Default DefaultNamespace,
	// the same for every application: set one of your own wherever the
	// servers are shared, or the applications read each other's entries
	// and clear each other's.
	Namespace string
	// Timeout bounds each call's dial, read and write. Default
	// DefaultTimeout (250ms; gomemcache's is 500ms). A multi-get has to be
	// sent, and every one of its keys looked up, within one Timeout: GetMany
	// sends at most 1000 keys (fewer when they are long) per multi-get, each
	// batch under a Timeout of its own: a GetMany of many keys may take
	// longer than Timeout in all without failing (a batch whose multi-get a
	// proxy refused for one key is read again one get per key, the gets
	// started within one Timeout more). gomemcache never retries
	// nor sleeps: against a stopped server a call makes one dial, refused at
	// once; against one that drops packets, it waits Timeout. A server
	// that fails 3 calls in a row, or answers only SERVER_ERROR (or only
	// values over MaxItemSize, a probe's key too) for a second, is marked
	// down for a second, its keys refused meanwhile
	// without a dial; a SERVER_ERROR of a server that answers other keys
	// normally wraps backend.ErrKeyRefused (see the package doc).
	Timeout time.Duration
	// MaxIdleConns is the number of idle connections kept per server; more
	// are opened as calls need them and closed after. Besides them, up to
	// MaxIdleConns more per server are kept after a request that a proxy
	// refused with a lone SERVER_ERROR line (parked: see the package doc),
	// each resynced before it is used again. Delete and
	// DeleteCount calls of many keys delete on their callers' goroutines,
	// one key at a time each, and on helper goroutines shared by the whole
	// Store: at most min(8, MaxIdleConns)-1 helpers, one delete in flight
	// each, run at once across all the Store's calls, so that with n calls
	// under way at most n+min(8, MaxIdleConns)-1 deletes are in flight (as
	// many connections in use). Default DefaultMaxIdleConns (16;
	// gomemcache's is 2).
	MaxIdleConns int
	// MaxItemSize is the servers' item size limit (memcached's -I, 1 MiB
	// unless started otherwise). A value that would not fit, with its key
	// and the item's overhead, gets backend.ErrValueTooLarge. A value
	// larger than MaxItemSize in a reply is not read into memory: a
	// refusal of its key (see the package doc). Set it to the servers'
	// -I, the same in every process that shares the namespace. Default
	// DefaultMaxItemSize.
	MaxItemSize int
	// GenerationTTL is how long this process trusts the namespace
	// generation it last read before reading it again: after another
	// process's Clear, this one may serve entries from before the Clear,
	// and its Set, Add and Incr may go to the old generation (where they
	// are lost), for up to GenerationTTL. Delete and DeleteCount never
	// trust it: they read the generation first (one more round trip), so
	// that no delete or invalidation is lost. -1: read it on every call
	// (one more round trip each, made on a goroutine of its own, a hand-off
	// more, when the call's context can end: see the package doc), with no
	// GenerationGrace. Default DefaultGenerationTTL (1s). It and
	// GenerationGrace count from the read on the monotonic clock, and
	// count the time the machine was suspended too, which that clock does
	// not (other processes' Clears went on): each is the larger of the
	// monotonic and the wall clock's progress since the read.
	GenerationTTL time.Duration
	// GenerationGrace is how long past GenerationTTL this process keeps
	// working in the generation it last read while reading the generation
	// fails (the one server holding the key <namespace>:gen down, hung or
	// timing out; behind a proxy, the upstream holding it dead): calls for
	// keys on the other servers (upstreams) go on, and one read
	// at a time, at most one a second, tries the generation again. A Clear
	// made by another process meanwhile (one that can reach that server)
	// is then seen up to GenerationTTL+GenerationGrace late, rather than
	// within GenerationTTL, and the writes this process makes to the old
	// generation meanwhile are lost as within GenerationTTL. Deletes are
	// not trusted to it: see DeleteCount. Before the first generation is
	// read, and once the grace has passed, calls fail while it cannot be
	// read (between two reads, with the error of the last, at once), with
	// an error naming the generation's key, which the caching package's
	// breaker counts as a failure: no key can be used without it. -1:
	// no grace: a failed read fails the calls until one succeeds. Default
	// DefaultGenerationGrace (1 minute). Ignored when GenerationTTL is -1.
	GenerationGrace time.Duration
	// FlushOnClear makes Clear send flush_all to every server, removing
	// every item of every namespace and application on them, instead of
	// moving this namespace to a new generation (a server that fails does
	// not stop the others being flushed; Clear then fails). Off by
	// default; turn it on only for servers this cache owns.
	FlushOnClear bool
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (o Options) withDefaults() (Options, error) {
	if len(o.Servers) == 0 {
		return o, fmt.Errorf("memcached: Options.Servers is required: %w", backend.ErrInvalidOption)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if !namespaceRE.MatchString(o.Namespace) {
		return o, fmt.Errorf("memcached: Options.Namespace must be 1 to 64 letters, digits, '.', '_' or '-': %w", backend.ErrInvalidOption)
	}
	switch {
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	case o.Timeout < 0:
		return o, fmt.Errorf("memcached: Options.Timeout is %v; want > 0 or 0 (default %v): %w", o.Timeout, DefaultTimeout, backend.ErrInvalidOption)
	}
	switch {
	case o.MaxIdleConns == 0:
		o.MaxIdleConns = DefaultMaxIdleConns
	case o.MaxIdleConns < 0:
		return o, fmt.Errorf("memcached: Options.MaxIdleConns is %d; want > 0 or 0 (default %d): %w", o.MaxIdleConns, DefaultMaxIdleConns, backend.ErrInvalidOption)
	}
	switch {
	case o.MaxItemSize == 0:
		o.MaxItemSize = DefaultMaxItemSize
	case o.MaxItemSize < 1024 || o.MaxItemSize > 1<<30:
		return o, fmt.Errorf("memcached: Options.MaxItemSize is %d; want 1024 to 1 GiB, or 0 (default %d): %w", o.MaxItemSize, DefaultMaxItemSize, backend.ErrInvalidOption)
	}
	switch {
	case o.GenerationTTL == 0:
		o.GenerationTTL = DefaultGenerationTTL
	case o.GenerationTTL < -1:
		return o, fmt.Errorf("memcached: Options.GenerationTTL is %v; want > 0, 0 (default %v) or -1 (no caching): %w", o.GenerationTTL, DefaultGenerationTTL, backend.ErrInvalidOption)
	}
	switch {
	case o.GenerationGrace == 0:
		o.GenerationGrace = DefaultGenerationGrace
	case o.GenerationGrace == -1:
		o.GenerationGrace = 0
	case o.GenerationGrace < -1:
		return o, fmt.Errorf("memcached: Options.GenerationGrace is %v; want > 0, 0 (default %v) or -1 (none): %w", o.GenerationGrace, DefaultGenerationGrace, backend.ErrInvalidOption)
	}
	if o.GenerationTTL < 0 {
		o.GenerationGrace = 0 // every call reads the generation
	}
	return o, nil
}

// Store is a backend.Backend on memcached servers through gomemcache. It is
// safe for concurrent use and starts no goroutine that outlives a call (a
// Delete or DeleteCount of several keys may run some of its deletes on
// helper goroutines, which end before it returns) but a read of the
// namespace generation that a call left once its context was done: it
// ends with the read, each round trip bounded by Options.Timeout, and at
// Close at the latest (a shared read, one at a time; with GenerationTTL
// -1, each call's own, about Options.MaxIdleConns at most: see the package
// doc).
type Store struct {
	opts    Options
	client  *memcache.Client
	servers *serverList // the client's selector
	genKey  string
	// probeKey is the start of the keys a server marked down is probed
	// with, <namespace>:probe:, each followed by a probeToken; probes
	// counts the probes.
	probeKey string
	probes   atomic.Uint64
	gen      atomic.Pointer[generation]
	// genFail is the last failed read of the generation, until one
	// succeeds; genMu guards genRead, the read in flight (one at a time).
	genFail atomic.Pointer[genFailure]
	genMu   sync.Mutex
	genRead *genRead
	// leftReads counts the calls' own reads of the generation
	// (GenerationTTL -1) that their callers left in flight: none is
	// started for a caller to leave once Options.MaxIdleConns are (see
	// ownPrefix), so at most that many plus the calls then under way.
	leftReads atomic.Int32
	closed    atomic.Bool
	// dial opens the client's connections (a net.Dialer with
	// Options.Timeout; tests replace it). The client dials through
	// dialContext, which records them in conns.
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	conns connSet
	// deleteHelpers counts the helper goroutines that Delete and
	// DeleteCount calls run at this moment, beside their callers', across
	// the Store: at most maxDeleteHelpers (see deleteUnder).
	deleteHelpers atomic.Int32
	// overItem is the token its connections read a value over
	// Options.MaxItemSize as (see maxSkipped): random, made by New, never
	// sent to a server.
	overItem [overItemLen]byte
	// flushOne is gomemcache's flush_all of one server, which Clear calls
	// for each server (Options.FlushOnClear) with its context (see
	// serverList.each): gomemcache exports none, and its FlushAll takes no
	// context. New records it: the function FlushAll calls Each with
	// (nil if it calls none: Clear then calls FlushAll).
	flushOne func(net.Addr) error
}

// generation is the namespace generation this process last read, as the
// key prefix it gives.
type generation struct {
	prefix string // namespace:generation:
	readAt time.Time
}

// genFailure is a failed read of the generation: when it ended, and its
// error.
type genFailure struct {
	at  time.Time
	err error
	// timedOut is whether the read failed by waiting out Options.Timeout
	// (a connect or read timeout) rather than at once.
	timedOut bool
}

// genRead is a read of the generation in flight, on a goroutine of its own
// (see run), which the calls that wait for it may leave (see wait); done is
// closed when it has ended, with its prefix or error.
type genRead struct {
	done   chan struct{}
	prefix string
	err    error
	// panicked is what the read panicked with, if it did (err then says
	// so): raised again by the call that started it (see wait).
	panicked any
	// leftReads is the Store's count of reads left in flight, for a
	// call's own read (see Store.ownPrefix; nil for the shared read):
	// counted from its caller leaving to its end. left is set by the
	// first of the two, so that the second (and only it) adjusts the
	// count back.
	leftReads *atomic.Int32
	left      atomic.Bool
}

// run sets r's result to read's, on the goroutine it is called on, then
// calls ended (if not nil) and closes r.done, even if read panics: the
// panic is recorded (r.panicked) rather than raised, as it would end the
// program on a goroutine of the Store's.
func (r *genRead) run(read func() (string, error), ended func()) {
	defer func() {
		if p := recover(); p != nil {
			r.prefix, r.err, r.panicked = "", fmt.Errorf("memcached: the namespace generation read panicked: %v", p), p
		}
		if ended != nil {
			ended()
		}
		if r.leftReads != nil && r.left.Swap(true) {
			r.leftReads.Add(-1) // its caller left it
		}
		close(r.done)
	}()
	r.prefix, r.err = read()
}

// wait returns r's result once it has ended, or an error wrapping ctx's
// once ctx is done: the read goes on for the other calls, if any, and
// ends on its own, each round trip bounded by Options.Timeout (at Close
// at the latest). A read that has ended by the time ctx is done gives its
// result all the same, and a call's own read that its caller leaves is
// counted in the Store's leftReads until it ends (r.leftReads, if set).
// The call that started the read (started) raises what the read panicked
// with, if it did; the others get its error.
func (r *genRead) wait(ctx context.Context, started bool) (string, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		select {
		case <-r.done: // ended as ctx was done: the caller may have its answer
		default:
			if r.leftReads != nil {
				r.leftReads.Add(1)
				if r.left.Swap(true) {
					r.leftReads.Add(-1) // it has just ended
				}
			}
			return "", fmt.Errorf("memcached: the call's context ended while the namespace generation was read: %w", ctx.Err())
		}
	}
	if started && r.panicked != nil {
		panic(r.panicked)
	}
	return r.prefix, r.err
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
)

// New validates opts and returns a Store. It does not contact the servers,
// nor resolve their names (it checks their syntax only): a server that is
// down, or a name that does not resolve yet, makes calls fail, not New.
// Names are resolved at each new connection.
func New(opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	sl, err := newServerList(o.Servers)
	if err != nil {
		return nil, err
	}
	c := memcache.NewFromSelector(sl)
	c.Timeout = o.Timeout
	c.MaxIdleConns = o.MaxIdleConns
	d := &net.Dialer{Timeout: o.Timeout} // as gomemcache dials by default
	s := &Store{opts: o, client: c, servers: sl, genKey: o.Namespace + ":gen", probeKey: o.Namespace + ":probe:", dial: d.DialContext}
	_, _ = rand.Read(s.overItem[:]) // never fails (crypto/rand)
	// FlushAll calls Each with the flush_all of one server, which capture
	// records as s.flushOne rather than calls. Every dial is refused
	// meanwhile (the client has no connection yet): a gomemcache whose
	// FlushAll reached the servers otherwise must not flush them all at
	// New, for a Store that may never flush (Clear then falls back).
	c.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("memcached: New sends nothing")
	}
	sl.capture = &s.flushOne
	_ = c.FlushAll()
	sl.capture = nil
	c.DialContext = s.dialContext
	s.conns.maxSpares, s.conns.timeout = o.MaxIdleConns, o.Timeout
	sl.probe = s.probe
	sl.outOfStepTries = s.outOfStepTries()
	return s, nil
}

// probeKeys is how many keys a probe gets at most, one get each. A proxy
// in front of several servers sends each get to the server it hashes its
// key to: a probe of one key that lands on a server that is dead would keep
// the proxy marked down, its live servers' keys refused, as long as that
// one server is dead. One get per key rather than a multi-get: twemproxy
// answers a multi-get with an error as a whole when one of its keys'
// servers fails; mcrouter splits it into gets anyway.
//
// A probe gets its next key only after an error reply (SERVER_ERROR: a
// proxy's for a dead upstream), and stops at the first reply of any other
// kind, or failure: a server that answers costs a get or two, a dead one
// (its dial refused) none, and only a proxy whose replies are all errors
// pays every key, once per serverRetry, all of them on one connection
// within the probe's one Options.Timeout. With 8 keys a proxy with one of
// its two upstreams dead stayed marked down for another serverRetry once in
// 2^8 = 256 probes (every key on the dead one); with 32, once in 2^32, and
// one with 3 of its 4 upstreams dead once in 10^4 rather than 10.
const probeKeys = 32

// probe gets keys <namespace>:probe:<token> (probeKeys of them, each
// token new and random, see probeToken: no set of keys a proxy puts on one
// dead server comes back) from the server of h, marked down, under Options.Timeout,
// one get after the other until one gets a normal reply (a miss or a
// value): then it returns nil. The gets share one connection while the
// server answers the version command sent after each error reply (see
// probeGet), so that a probe dials once. The connection reports to h as any other (see
// healthConn): a normal reply marks the server up (a VALUE line whole,
// the rest of its reply unread, but for a value over Options.MaxItemSize,
// which no key of a probe holds on a sound server: see overItemReply); a
// dial that fails or a
// timeout is one more failure, and an error reply one more error reply,
// either of which leaves it marked down for another serverRetry. Gets
// rather than a version command: a proxy (mcrouter, memcached's proxy
// mode) may answer version itself, its upstreams all dead, and twemproxy
// before 0.5 does not take version; a proxy sends a get on to an upstream.
func (s *Store) probe(h *serverHealth) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	s.probes.Add(1)
	var pc probeConn
	defer pc.close()
	var line []byte
	for range probeKeys {
		var err error
		if line, err = s.probeGet(ctx, h, &pc, s.probeKey+probeToken()); err != nil {
			return err
		}
		switch {
		case bytes.Equal(line, []byte("END\r\n")):
			return nil // a miss, which its connection took for an answer
		case bytes.HasPrefix(line, []byte(valuePrefix)):
			switch over, err := s.probeOverItem(&pc, line); {
			case err != nil:
				return err
			case over:
				return fmt.Errorf("memcached: server %s answered its probe (get) with %w", h.addr, errProbeOverItem)
			}
			// Its connection marks the server up at the reply's END
			// (see healthConn.replyStart), which the probe, closing
			// it, may never read: a whole VALUE line answers.
			h.answered()
			return nil
		}
		if !bytes.HasPrefix(line, serverError) {
			break // no error reply of a key's server: the same for any key
		}
	}
	return fmt.Errorf("memcached: server %s answered its probe (get) with %q", h.addr, line)
}

// probeToken returns 16 random hex digits, the end of a probe's key. The
// keys were <namespace>:probe:<n>, n counting from 0 in every process:
// whoever could write to the servers stored values over
// Options.MaxItemSize under the keys the next probes would get, and kept
// a healthy server marked down (see overItemReply).
func probeToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// probeOverItem reports whether line, the VALUE line of a probe get's
// reply read on pc, is that of a value over Options.MaxItemSize, skipped
// (see maxSkipped): its data starts with the Store's token, which it
// reads. It fails when that data does not come. pc's connection is not
// used after.
func (s *Store) probeOverItem(pc *probeConn, line []byte) (bool, error) {
	if f := bytes.Fields(line); len(f) < 4 || string(f[3]) != overItemDigits {
		return false, nil
	}
	var data [overItemLen]byte
	if _, err := io.ReadFull(pc.r, data[:]); err != nil {
		return false, err
	}
	return data == s.overItem, nil
}

// probeConn is the connection a probe's gets share, and its reader; nil
// until the first get, and after one that left it out of step.
type probeConn struct {
	c net.Conn
	r *bufio.Reader
	// hc is c's healthConn, whose raw connection the version commands
	// are written on (see inStep); nil for a connection without one.
	hc *healthConn
}

func (pc *probeConn) close() {
	if pc.c != nil {
		_ = pc.c.Close()
		pc.c, pc.r, pc.hc = nil, nil, nil
	}
}

// probeGet sends a get of key to the server of h on pc's connection (one
// from dialContext when pc has none) before ctx's deadline, and returns the
// first line of its reply. When that is an error line, it sends a version
// command and reads on to the end of its reply: a proxy may send the rest
// of the get's reply late, in a write of its own (mcrouter: a get's END;
// see spare.go), which the next get would read as its reply, a miss, and
// the probe would mark up a proxy whose upstreams are all dead. The server
// answers in order: once the VERSION line is read, with only END lines
// before it and nothing after it, every reply to the get has come, and the
// next get goes on the same connection. Otherwise (another reply, or none)
// pc's connection is closed, and the next get dials another: at most
// probeKeys dials a probe, and one more for each get that the check
// before a request on a used connection stops (bytes come after the
// version's reply, or the server closed the connection: see
// healthConn.Write), nothing written, to go on a new connection. The version goes after the get's first line,
// never in the get's write: twemproxy before 0.5.0 does not know version,
// and closes the connection on it, discarding the reply to the get before
// it, which no probe of it would then read.
func (s *Store) probeGet(ctx context.Context, h *serverHealth, pc *probeConn, key string) ([]byte, error) {
	for {
		used := pc.c != nil
		if !used {
			if err := s.probeDial(ctx, h, pc); err != nil {
				return nil, err
			}
		}
		_, err := io.WriteString(pc.c, "get "+key+"\r\n")
		if err == nil {
			break
		}
		pc.close()
		if !used || !unwritten(err) {
			return nil, err
		}
		// Bytes came after the version's reply (or the server closed
		// the connection): nothing was written; the get goes on a
		// new connection.
	}
	line, err := pc.r.ReadSlice('\n')
	if err != nil {
		pc.close()
		return nil, err
	}
	line = bytes.Clone(line) // the reader's buffer, which the next reads overwrite
	switch {
	case bytes.HasPrefix(line, []byte(valuePrefix)):
		// Left open for the probe, which ends with it, to read the
		// value's start (see probeOverItem).
	case !bytes.HasPrefix(line, serverError) || !pc.inStep():
		pc.close()
	}
	return line, nil
}

// probeDial opens pc's connection to the server of h (see dialContext),
// its deadline ctx's.
func (s *Store) probeDial(ctx context.Context, h *serverHealth, pc *probeConn) error {
	c, err := s.dialContext(ctx, h.network, h.addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		_ = c.Close()
		return err
	}
	pc.c, pc.r = c, bufio.NewReader(c)
	if tc, ok := c.(*trackedConn); ok {
		pc.hc, _ = tc.Conn.(*healthConn)
	}
	return nil
}

// inStep sends a version command after a probe get's error line, reads the
// rest of the get's reply (END lines, at most resyncLines-1) and the reply
// to version, and reports whether that was all, as resync does for a
// parked connection. The version is written on the raw connection under
// the healthConn, as resync writes it: its reply is no answer of the
// server's (a proxy answers version itself, its upstreams all dead), and
// must not mark the server up; nor is the connection left to be parked.
//
// A server that neither answers version nor closes the connection (no
// memcached, mcrouter or twemproxy does: twemproxy before 0.5.0, which
// has no version, closes it; see resync) leaves the read to the probe's deadline, Options.Timeout from
// its start, as resync's read is left to the dial's: the probe then fails
// with that timeout, a failure of the server (see healthConn), whose next
// get finds the deadline passed, and the server is marked down, or stays
// so. It costs the call that probes Timeout, once per serverRetry, as the
// probe of a server that stopped answering does; a shorter wait would
// take a slow version reply for a proxy out of step.
func (pc *probeConn) inStep() bool {
	if pc.hc == nil {
		return false
	}
	pc.hc.lone = loneNone
	if _, err := io.WriteString(pc.hc.Conn, "version\r\n"); err != nil {
		return false
	}
	for range resyncLines {
		l, err := pc.r.ReadSlice('\n')
		switch {
		case err != nil:
			return false
		case bytes.HasPrefix(l, []byte("VERSION ")):
			// The error line, END lines and VERSION: the next get
			// starts afresh, checked as any request on a used
			// connection (see healthConn.Write): a copy of a reply
			// sent after VERSION, in a write of its own, would be
			// read as its reply.
			pc.hc.endsAt = pc.hc.frame.ends
			return pc.r.Buffered() == 0
		case !bytes.Equal(l, []byte("END\r\n")):
			return false
		}
	}
	return false
}

// dialContext is the client's DialContext: it dials with s.dial and records
// the connection in s.conns, for Close. After Close it dials nothing and
// returns backend.ErrClosed; a connection whose dial completes after Close
// is closed at once. A dial that fails, and the reads and writes of the
// connection, are reported to the server's health (see serverHealth). A
// connection kept after an error reply (see connSet.park) is taken again
// before anything is dialed, and a Store closed meanwhile dials nothing.
func (s *Store) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if s.closed.Load() {
		return nil, backend.ErrClosed
	}
	h := s.servers.byAddr[addr]
	if tc := s.conns.spare(ctx, addr); tc != nil {
		return tc, nil // kept after an error reply: see park
	}
	if s.closed.Load() {
		// Close closed the parked connections, one of them under its
		// resync, maybe with its reply come: a dial now would fail as a
		// dial (a server gone, counted against its health) or be closed
		// at once, after a round trip for nothing.
		return nil, backend.ErrClosed
	}
	c, err := s.dial(ctx, network, addr)
	if err != nil {
		if h != nil {
			h.lose()
			h.failed(err)
		}
		return nil, err
	}
	if h != nil {
		c = &healthConn{Conn: c, h: h, frame: replyFrame{max: int64(s.opts.MaxItemSize), token: &s.overItem}}
	}
	return s.conns.add(c, addr, h)
}

// connSet is the set of a Store's open connections. gomemcache's
// Client.Close closes only the idle connections and forgets its pool: a
// connection in use while it runs is put back afterwards, into a fresh pool,
// and never closed. The Store therefore tracks every connection it dials,
// until gomemcache closes it, and closes those still open on Close.
type connSet struct {
	mu     sync.Mutex
	closed bool
	open   map[*trackedConn]struct{}
	// spares are the connections parked after an error reply, by server
	// address (see park): maxSpares at most per server. They are in open
	// too.
	spares    map[string][]*trackedConn
	maxSpares int
	// timeout is Options.Timeout: how long a parked connection's resync
	// may wait for its reply (see spare).
	timeout time.Duration
}

// add records c, a connection to addr, of the server of h (nil when
// unknown), and returns it wrapped, so that its Close forgets it; after
// closeAll it closes c and returns backend.ErrClosed.
func (cs *connSet) add(c net.Conn, addr string, h *serverHealth) (net.Conn, error) {
	tc := &trackedConn{Conn: c, set: cs, addr: addr, h: h}
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		_ = c.Close()
		return nil, backend.ErrClosed
	}
	if cs.open == nil {
		cs.open = make(map[*trackedConn]struct{})
	}
	cs.open[tc] = struct{}{}
	cs.mu.Unlock()
	return tc, nil
}

func (cs *connSet) remove(tc *trackedConn) {
	cs.mu.Lock()
	delete(cs.open, tc)
	cs.mu.Unlock()
}

// closeAll closes every connection still open, idle or in use (a call using
// one fails), and makes add refuse connections from now on.
func (cs *connSet) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	open := cs.open
	cs.open, cs.spares = nil, nil
	cs.mu.Unlock()
	for tc := range open {
		_ = tc.Conn.Close()
	}
}

// trackedConn is a connection in a connSet, to the server addr, whose
// health is h (nil when unknown).
type trackedConn struct {
	net.Conn
	set  *connSet
	addr string
	h    *serverHealth
}

// Close closes the connection, or parks it for a later dial when
// gomemcache closes it after an error reply that left it sound (see park).
// Either way the server has lost a connection (see serverHealth.lose):
// gomemcache closes one when the call on it failed.
func (c *trackedConn) Close() error {
	if c.h != nil {
		c.h.lose()
	}
	if c.set.park(c) {
		return nil
	}
	c.set.remove(c)
	return c.Conn.Close()
}

// Must is New for program start-up: it panics on an error.
func Must(opts Options) *Store {
	s, err := New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// start checks that the store is open and ctx not done. gomemcache takes no
// context: a call that has started is bounded by Options.Timeout, not by
// ctx's deadline (GetMany checks again between its batches, Delete and
// DeleteCount before starting each key).
func (s *Store) start(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcached: %w", err)
	}
	return nil
}

// timeout reports whether err is a connect or read timeout of the client.
func timeout(err error) bool {
	var ce *memcache.ConnectTimeoutError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) && ne.Timeout()
}

// outOfMemory reports memcached's refusal of one item for want of memory
// ("SERVER_ERROR out of memory storing object", "SERVER_ERROR Out of memory
// during read"): a value near the item size limit while the slabs are full
// of small items, which the server cannot evict to make room for it. The
// server answered and keeps serving the rest, so the refusal is the item's,
// as a value too large is: it must not count against the server (a client
// sending large responses would otherwise open the circuit breaker for
// everyone), and the older value under the key must go.
func outOfMemory(msg string) bool {
	return strings.Contains(msg, "SERVER_ERROR") && strings.Contains(strings.ToLower(msg), "out of memory")
}

// dropped reports whether err is the server closing or resetting the
// connection. On a pooled connection that is what a restart does: a call
// that does not change anything is tried once more, on a new connection. On
// a new one, a failure of the server (see healthConn).
//
// A pooled connection out of step with its replies (errOutOfStepConn), or
// found closed by the server before its request (errServerClosedConn),
// fails so too: its request was not written (see unwritten).
func dropped(err error) bool {
	return errors.Is(err, io.EOF) || connerr.Broken(err) || unwritten(err)
}

// prefix returns the key prefix of the namespace's current generation,
// reading it from memcached at most once per GenerationTTL: reads and writes
// may use a generation up to GenerationTTL old (see the package doc), or
// older while it cannot be read (see refreshPrefix).
func (s *Store) prefix(ctx context.Context) (string, error) {
	g := s.gen.Load()
	if g != nil && s.opts.GenerationTTL > 0 && boottime.Since(g.readAt) < s.opts.GenerationTTL {
		return g.prefix, nil
	}
	if s.opts.GenerationTTL < 0 {
		return s.ownPrefix(ctx)
	}
	return s.refreshPrefix(ctx)
}

// ownPrefix is prefix with GenerationTTL -1: the call reads the generation
// itself, not tried again once ctx is done (see again). gomemcache takes
// no context, so a call that can leave (ctx has a Done channel) reads it
// on a goroutine of its own, and leaves once ctx is done, the read ending
// on its own (see genRead.wait); one that cannot reads it on its own
// goroutine, and so does every call while Options.MaxIdleConns reads are
// left in flight (s.leftReads), waiting its read out: each read left holds
// a goroutine and a connection, and callers that leave at once and call
// again (short deadlines against a slow or hung server) would otherwise
// pile them up without bound.
func (s *Store) ownPrefix(ctx context.Context) (string, error) {
	if ctx.Done() == nil || s.leftReads.Load() >= int32(s.opts.MaxIdleConns) {
		return s.readPrefix(ctx)
	}
	r := &genRead{done: make(chan struct{}), leftReads: &s.leftReads}
	go r.run(func() (string, error) { return s.readPrefix(ctx) }, nil)
	return r.wait(ctx, true)
}

// refreshPrefix reads the generation again, the one last read being past
// GenerationTTL (or none read yet). One read is in flight at a time: a call
// that finds one in flight goes on with the generation read before, if it
// is within GenerationGrace, rather than wait for it (a hung server would
// hold every call for Timeout), and otherwise waits for its result, until
// ctx is done. The call that finds none in flight starts it, on a
// goroutine of its own, and waits for it as the others do: it too leaves
// once ctx is done, and the read goes on for the others (see
// genRead.wait). A read
// that failed is not tried again for generationRetry: calls meanwhile go
// on with the generation read before, within the grace, or fail at once
// with the error of that read. The generation's key lives on one server:
// without this, that server down or hung failed or stalled every call, for
// keys on every server.
func (s *Store) refreshPrefix(ctx context.Context) (string, error) {
	if f := s.genFail.Load(); f != nil && time.Since(f.at) < generationRetry {
		return s.gracePrefix(f.err)
	}
	s.genMu.Lock()
	r := s.genRead
	leader := r == nil
	if leader {
		r = &genRead{done: make(chan struct{})}
		s.genRead = r
	}
	s.genMu.Unlock()
	if !leader {
		if p, err := s.gracePrefix(nil); err == nil {
			return p, nil
		}
		return r.wait(ctx, false)
	}
	// Even if the read panics, the next call may read again and those
	// waiting are released (see genRead.run).
	go r.run(s.sharedPrefix, func() {
		s.genMu.Lock()
		s.genRead = nil
		s.genMu.Unlock()
	})
	return r.wait(ctx, true)
}

// sharedPrefix is the shared read of refreshPrefix: the generation, read
// unless the read before this one ended since refreshPrefix's checks, or
// the one within GenerationGrace when it cannot be read.
func (s *Store) sharedPrefix() (string, error) {
	g := s.gen.Load()
	f := s.genFail.Load()
	switch {
	case g != nil && boottime.Since(g.readAt) < s.opts.GenerationTTL:
		return g.prefix, nil
	case f != nil && time.Since(f.at) < generationRetry:
		return s.gracePrefix(f.err)
	}
	_, p, err := s.readPrefixNoting(context.Background()) // shared by the calls that wait for it
	if err != nil {
		return s.gracePrefix(err)
	}
	return p, nil
}

// readPrefixNoting is readPrefixes that notes a failure in genFail (a
// success clears it), for refreshPrefix's calls to go on without reading
// until generationRetry has passed: but for a read not tried again because
// ctx was done (see again), whose failure may be a stale pooled
// connection's, not the server's, and is its caller's leaving: noted, it
// would fail the calls without a generation within GenerationGrace, for
// generationRetry, with the error of a caller gone.
func (s *Store) readPrefixNoting(ctx context.Context) (read, recorded string, err error) {
	read, recorded, err = s.readPrefixes(ctx)
	if err != nil && !leftBy(ctx, err) {
		s.genFail.Store(&genFailure{at: time.Now(), err: err, timedOut: timeout(err)})
	}
	return read, recorded, err
}

// gracePrefix returns the prefix of the generation last read if it is
// within GenerationTTL+GenerationGrace of its read, and otherwise err (an
// error saying that no generation is usable when err is nil).
func (s *Store) gracePrefix(err error) (string, error) {
	g := s.gen.Load()
	// Subtracted, not added: GenerationTTL+GenerationGrace may overflow.
	if g != nil && boottime.Since(g.readAt)-s.opts.GenerationTTL < s.opts.GenerationGrace {
		return g.prefix, nil
	}
	if err == nil {
		err = errors.New("memcached: no namespace generation read within Options.GenerationGrace")
	}
	return "", err
}

// deletePrefixes returns the prefixes a delete must remove its keys under:
// first the generation memcached holds now, read now whatever GenerationTTL
// says, then the ones this process trusts after that read and trusted
// before it, where they differ (see setGeneration: a read of this
// process's sent after the delete's may be recorded first, with a
// generation older than the one the delete's read got). A delete under an
// old generation alone would be lost: the new generation's entry, written
// by a process that saw the Clear, would stay valid until its TTL (an
// invalidation lost, as the caching package deletes tag versions). The
// other generations are kept in the list so that processes trusting them,
// as this one does or did, stop serving the key too.
//
// When the generation cannot be read, the generation last read, if within
// GenerationGrace, is returned alone with the read's error: the keys are
// deleted there, so that this process and those on it stop serving them,
// and the call still fails, so that its caller retries the delete once the
// generation can be read (another process may have moved to a new one,
// where the keys would be left).
//
// Within generationRetry of a read that timed out, a delete does not read
// it again: it deletes under the generation last read (within the grace)
// and fails with the error of that read, at once, as a read would fail
// now. Reading again would make every delete (and every lease's release)
// wait Options.Timeout while the generation's server hangs; the cost is
// that a server answering again within that second fails the deletes made
// meanwhile, which their caller retries. After a read that failed at once
// (the server refusing connections), a delete reads again: that costs it
// nothing, and sees a restarted server at once.
//
// The read is made on the caller's goroutine, each round trip bounded by
// Options.Timeout, not by ctx (gomemcache takes no context), and is not
// tried again once ctx is done (see again): a failure so cut short is not
// noted as the server's (see readPrefixNoting).
func (s *Store) deletePrefixes(ctx context.Context) ([]string, error) {
	old := s.gen.Load()
	var p, recorded string
	var err error
	if f := s.genFail.Load(); f != nil && f.timedOut && time.Since(f.at) < generationRetry {
		err = f.err
	} else {
		p, recorded, err = s.readPrefixNoting(ctx)
	}
	if err != nil {
		if gp, gerr := s.gracePrefix(err); gerr == nil {
			return []string{gp}, fmt.Errorf("memcached: the keys are deleted from the generation last read only: %w", unprefixed(err))
		}
		return nil, err
	}
	ps := append(make([]string, 0, 3), p) // the three at most, allocated once
	if recorded != p {
		ps = append(ps, recorded)
	}
	if old != nil && !slices.Contains(ps, old.prefix) {
		ps = append(ps, old.prefix)
	}
	return ps, nil
}

// readPrefix reads the namespace's generation from memcached and returns
// the key prefix this process records after it (see readPrefixes).
func (s *Store) readPrefix(ctx context.Context) (string, error) {
	_, recorded, err := s.readPrefixes(ctx)
	return recorded, err
}

// readPrefixes reads the namespace's generation from memcached and returns
// its key prefix (read) and the one this process records after it
// (recorded: see setGeneration). A missing generation (never set, or
// evicted) is created with the current time in nanoseconds, so that it
// never repeats an earlier one. Its errors say that the generation is what cannot be read: every
// call needs it (a key is stored under it), so that a call fails for the
// one server holding <namespace>:gen, whichever server holds the call's
// own key (behind a proxy, the one upstream holding it dead fails every
// call past GenerationGrace). Its server marked down is no
// backend.ErrServerDown to its callers, as when every server is down, nor
// is its error reply a backend.ErrKeyRefused (readGeneration wraps no
// refusal): the caching package's breaker counts such calls. Its round
// trips are not tried again once ctx is done (see again).
func (s *Store) readPrefixes(ctx context.Context) (read, recorded string, err error) {
	read, recorded, err = s.readGeneration(ctx)
	if err == nil {
		return read, recorded, nil
	}
	msg := "memcached: the namespace generation " + s.genKey + " cannot be read (every key is stored under it)"
	if errors.Is(err, backend.ErrServerDown) {
		return "", "", &refusedError{msg: msg + ": " + causeText(err)}
	}
	return "", "", fmt.Errorf("%s: %w", msg, unprefixed(err))
}

// readGeneration is readPrefixes, with the errors of the generation's
// server.
func (s *Store) readGeneration(ctx context.Context) (read, recorded string, err error) {
	now := time.Now()
	addr := s.servers.of(s.genKey).addr
	for range 3 {
		it, err := s.getItem(ctx, s.genKey)
		if err == nil {
			n, perr := strconv.ParseUint(string(it.Value), 10, 64)
			if perr != nil {
				// Not ours: start a generation of our own over it.
				err = s.set(ctx, &memcache.Item{Key: s.genKey, Value: freshGeneration()})
				if err != nil {
					return "", "", wrap("set", addr, err)
				}
				continue
			}
			read, recorded = s.setGeneration(n, now)
			return read, recorded, nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) {
			return "", "", wrap("get", addr, err)
		}
		err = s.add(ctx, &memcache.Item{Key: s.genKey, Value: freshGeneration()})
		if err != nil && !errors.Is(err, memcache.ErrNotStored) {
			return "", "", wrap("add", addr, err)
		}
	}
	return "", "", errors.New("memcached: the namespace generation keeps changing")
}

func freshGeneration() []byte {
	return strconv.AppendInt(nil, time.Now().UnixNano(), 10)
}

// setGeneration records generation n, read at readAt (taken before the
// read was sent), and returns its prefix (read) and the prefix recorded. A
// generation read earlier than the one recorded does not replace it, and
// the one recorded is what the calls go on with (recorded, not read): a
// slow read that started before a Clear of this process would otherwise
// bring back the generation it cleared, or hand it to the calls waiting
// for that read, calls made after the Clear among them (with no
// GenerationGrace, they wait for it once GenerationTTL has passed), which
// would read the entries the Clear dropped. A delete
// removes its keys under both (see deletePrefixes): the one recorded may
// be older than n, recorded by a read sent after this one that the server
// answered before another process's Clear.
func (s *Store) setGeneration(n uint64, readAt time.Time) (read, recorded string) {
	s.genFail.Store(nil) // the server answers
	g := &generation{prefix: s.opts.Namespace + ":" + strconv.FormatUint(n, 10) + ":", readAt: readAt}
	for {
		old := s.gen.Load()
		if old != nil && old.readAt.After(readAt) {
			return g.prefix, old.prefix
		}
		if s.gen.CompareAndSwap(old, g) {
			return g.prefix, g.prefix
		}
	}
}

func (s *Store) key(ctx context.Context, key string) (string, error) {
	p, err := s.prefix(ctx)
	if err != nil {
		return "", err
	}
	return storeKey(p, key), nil
}

// Get returns the value stored under key; a counter that memcached padded
// with spaces is returned without them (see unpad).
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	k, err := s.key(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.getKey(ctx, k)
}

// getKey is Get of the memcached key k (see getItem).
func (s *Store) getKey(ctx context.Context, k string) ([]byte, error) {
	it, err := s.getItem(ctx, k)
	if err != nil {
		return nil, s.servers.of(k).wrap("get", err)
	}
	if it.Value == nil {
		return []byte{}, nil
	}
	return unpad(it.Value), nil
}

// errOtherKey is getItem's error for a reply that was another key's value.
var errOtherKey = errors.New("memcached: the server answered with another key's value (the connection was out of step with its replies; the idle connections were closed)")

// add is gomemcache's Add of it, tried again while it took a connection
// out of step with its replies, or one the server closed, from the pool
// (see unwritten: nothing was sent; see outOfStepTries), and ctx is not
// done (see stopped). An add cannot be sent again after a stale
// pooled connection's error in general (it may have been applied: a retry
// would read its own add as not stored), but an add never written can.
func (s *Store) add(ctx context.Context, it *memcache.Item) error {
	err := s.client.Add(it)
	for n := 1; n < s.outOfStepTries() && unwritten(err) && !stopped(ctx, &err); n++ {
		err = s.client.Add(it)
	}
	return err
}

// outOfStepTries is how many times add, counter and serverList.Each (a
// flush_all) send a command that failed unwritten (errOutOfStepConn,
// errServerClosedConn: see unwritten): gomemcache closes each such connection as it fails, and its
// pool holds at most
// Options.MaxIdleConns of a server's, so that the command finds one in
// step (or dials one) within as many tries but for connections put out of
// step meanwhile, which the bound leaves to fail the call. Get, GetMany,
// Set and Delete try as many times too, and once more after any stale
// pooled connection's error (see again).
func (s *Store) outOfStepTries() int { return s.opts.MaxIdleConns + 1 }

// again reports whether a command that changes nothing, or may be sent
// twice (a get, a set, a delete), tried tries times and failed with err,
// is sent again: after the first try's stale pooled connection's error
// (see dropped: a server restarted), and after a connection out of step
// with its replies, or one the server closed (see unwritten: nothing was
// sent), up to outOfStepTries in all, as add and counter try, so that two
// such connections in the pool at once no longer fail the call. It is not
// once ctx is done (see stopped): gomemcache takes no context, and each try
// may wait Options.Timeout, for a caller gone. A command that succeeded
// costs a comparison.
func (s *Store) again(ctx context.Context, err *error, tries int) bool {
	e := *err
	return e != nil && (tries == 1 && dropped(e) ||
		tries < s.outOfStepTries() && unwritten(e)) && !stopped(ctx, err)
}

// stopped reports whether ctx is done, for a command that failed with *err
// not to be sent again: *err then wraps ctx's error too (stoppedError).
func stopped(ctx context.Context, err *error) bool {
	cerr := ctx.Err()
	if cerr != nil {
		*err = &stoppedError{err: *err, ctx: cerr}
	}
	return cerr != nil
}

// leftBy reports whether err, a call's, wraps the error of ctx, done: the
// call stopped as its caller left (see stopped).
func leftBy(ctx context.Context, err error) bool {
	cerr := ctx.Err()
	return cerr != nil && errors.Is(err, cerr)
}

// stoppedError is the error of a command not sent again because its
// caller's context was done (see stopped): err, its last try's, and ctx,
// the context's. It wraps both.
type stoppedError struct{ err, ctx error }

func (e *stoppedError) Error() string   { return e.err.Error() + "; not tried again: " + e.ctx.Error() }
func (e *stoppedError) Unwrap() []error { return []error{e.err, e.ctx} }

// errOutOfStepConn is the error of a request on a connection that read a
// value of a key its get did not ask for (see healthConn.Write): nothing
// was written, and the call is tried again on another connection, as
// after a stale pooled connection's error (see dropped and unsent), up to
// outOfStepTries times (see again, add and counter).
var errOutOfStepConn = errors.New("memcached: the connection was out of step with its replies, and is closed")

// errServerClosedConn is the error of a request on a pooled connection
// that the server had closed (see healthConn.Write): nothing was written,
// and the call is tried again on another connection, as after
// errOutOfStepConn.
var errServerClosedConn = errors.New("memcached: the server had closed the pooled connection; nothing was sent")

// unwritten reports whether err is the error of a request that a pooled
// connection did not write (errOutOfStepConn, errServerClosedConn): the
// command never reached the server, and is sent again on another
// connection, whatever it is, up to outOfStepTries times (see again, add,
// counter and serverList.Each).
func unwritten(err error) bool {
	return errors.Is(err, errOutOfStepConn) || errors.Is(err, errServerClosedConn)
}

// getItem is gomemcache's Get of the memcached key k, tried again when a
// stale pooled connection, or one out of step, failed it (see again),
// which fails with errOtherKey when
// the item read is another key's: gomemcache's Get returns the first item
// of the reply, whatever its key, and a connection out of step with its
// replies (one reading the reply to an earlier command) would serve one
// key's value as another's. The connection that read it is back in
// gomemcache's pool, out of step still, but writes no request again: its
// frame noted the key not asked (see replyFrame.stray), and the call that
// takes it from the pool before it is closed fails its write, nothing
// sent, with errOutOfStepConn, and is tried again on another connection.
// Every idle connection is then closed (gomemcache's Client.Close, after
// which the client works on), at the cost of a dial each: others may be
// out of step as well, with replies of the keys they are asked for (which
// no key check tells). The error is a failure, not a miss: it counts, as
// any reply that breaks the protocol does, in the caching package's
// breaker, but not against the server's health.
func (s *Store) getItem(ctx context.Context, k string) (*memcache.Item, error) {
	it, err := s.client.Get(k)
	for n := 1; s.again(ctx, &err, n); n++ {
		it, err = s.client.Get(k)
	}
	if err == nil && it.Key != k {
		_ = s.client.Close()
		return nil, errOtherKey
	}
	if err == nil && s.isOverItem(it.Value) {
		return nil, fmt.Errorf("%w: %s bytes, over %d", errOverItemSize,
			bytes.TrimLeft(it.Value[overItemLen:], "0"), s.opts.MaxItemSize)
	}
	return it, err
}

// isOverItem reports whether v, a value read, is s.overItem followed by a
// size: what a value over Options.MaxItemSize, which the connection
// skipped, is read as (see maxSkipped).
func (s *Store) isOverItem(v []byte) bool {
	return len(v) == overItemRead && [overItemLen]byte(v) == s.overItem
}

// unpad returns v without the spaces memcached pads a counter with. incr
// and decr rewrite a counter in place when the result fits: a result with
// fewer digits than the value had (10 decremented to 9, or "5 apples"
// incremented to 6) is stored as its digits followed by spaces up to the
// old length ("9 "), which no caller wrote and which reads back as no
// integer. Only that shape is trimmed: one or more ASCII digits followed by
// one or more spaces (memcached's counters have no sign: it refuses "-3",
// and writes back digits alone, then its padding). Any other value,
// an encoded entry among them, is returned as stored, at the cost of one
// comparison of its last byte.
func unpad(v []byte) []byte {
	if len(v) == 0 || v[len(v)-1] != ' ' {
		return v
	}
	end := len(v) - 1
	for end > 0 && v[end-1] == ' ' {
		end--
	}
	if end == 0 {
		return v
	}
	for _, c := range v[:end] {
		if c < '0' || c > '9' {
			return v
		}
	}
	return v[:end]
}

// Has reports whether key is present. memcached has no existence check that
// leaves the expiry alone, so Has is a Get: it transfers the value.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	_, err := s.Get(ctx, key)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// GetMany's batches. gomemcache sends a multi-get as one "gets k1 k2 ..."
// line per server under one deadline, Options.Timeout from the moment it
// takes the connection, extended only once the answer starts: the whole
// request must be written, and memcached must read the whole line (it buffers
// a long get line) and look up every key, before it sends the first byte
// back. That grows with the number of keys, 3 to 8µs per key on a loaded
// 2-core machine: 50,000 keys took 150 to 450ms, 100,000 keys 300 to 800ms,
// past the 250ms default, where each key would be read fine in smaller calls.
// GetMany therefore sends at most getManyBatchKeys keys, and
// getManyBatchBytes bytes of keys, per GetMulti, each under a deadline of its
// own. 1000 keys take 1 to 5ms, leaving even a 50ms Timeout ten times that
// for a loaded machine's stalls, while the round trip each batch adds (about
// 0.1ms on loopback) stays a few percent of the batch. The byte bound caps
// what is written under one deadline when keys are long (a memcached key is up
// to 250 bytes: 64 KiB is 261 such keys, about 5ms at 100 Mbit/s); typical
// keys of 30 to 60 bytes are bounded by the count.
const (
	getManyBatchKeys  = 1000
	getManyBatchBytes = 64 << 10
)

// GetMany returns the values of keys (nil for a miss) with gomemcache's
// GetMulti: one round trip per server, to the servers in parallel, for up to
// 1000 keys (fewer when they are long). More keys are sent in batches of that
// size, one after the other, each bounded by Options.Timeout on its own; a
// context done while a batch is under way stops the call before the next
// batch, with the context's error, and a Store closed fails the batch under
// way (Close closes its connections) with backend.ErrClosed. A server that
// fails (down, or marked down: backend.ErrServerDown) fails its own keys
// only (a batch whose GetMulti failed keeps the values read before the
// failure, and reads the keys it got no value for again, each failed
// server's apart): the values of the other servers' keys are
// returned with a *backend.GetManyError naming the keys not read, wrapping
// the servers' error (the whole call fails when no key was read). Behind a
// proxy with one upstream dead, which refuses a multi-get with one of that
// upstream's keys as a whole (twemproxy), the proxy's keys of a refused
// multi-get (backend.ErrKeyRefused) are read again one get each, one after
// the other, all started within Options.Timeout and before ctx is done:
// only the dead upstream's keys are unread, refused. A value over
// Options.MaxItemSize (see the package doc) is unread, its key refused
// (backend.ErrKeyRefused), and the other keys of its reply read; the error
// of such keys names each server that sent one (three, then how many
// more). A counter
// that memcached padded with spaces is returned without them, as by Get.
// The namespace generation is read once, for all the batches.
func (s *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	out := make([][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	p, err := s.prefix(ctx)
	if err != nil {
		return nil, err
	}
	mkeys := make([]string, len(keys))
	for i, k := range keys {
		mkeys[i] = storeKey(p, k)
	}
	var f getFailures
	for lo := 0; lo < len(mkeys); {
		if lo > 0 {
			if err := s.start(ctx); err != nil {
				return nil, err
			}
		}
		hi := batchEnd(mkeys, lo)
		s.getBatch(ctx, mkeys[lo:hi], out[lo:hi], lo, &f)
		lo = hi
	}
	switch {
	case f.err == nil:
		return out, nil
	case len(f.unread) == len(keys) || errors.Is(f.err, backend.ErrClosed):
		return nil, f.err
	}
	slices.Sort(f.unread) // the servers' keys were noted server by server
	return out, &backend.GetManyError{Unread: f.unread, Keys: len(keys), Err: f.err}
}

// getFailures is what GetMany's batches could not read: the indexes of the
// keys, and the error reported (the first real failure, rather than a
// refusal of a server marked down or of a key, which the caching package's
// breaker does not count).
type getFailures struct {
	unread []int
	err    error
	minor  bool // err wraps backend.ErrServerDown or backend.ErrKeyRefused
}

// add notes that the keys at idx (offset by base) were not read, for err.
// The refusals of values over Options.MaxItemSize (overItemError) are one
// error, naming each server.
func (f *getFailures) add(base int, idx []int, err error) {
	minor := backend.Neutral(err)
	oe, over := err.(*overItemError)
	if fe, ok := f.err.(*overItemError); ok && over {
		for _, a := range oe.addrs {
			fe.note(a)
		}
	} else if f.err == nil || f.minor && !minor {
		f.err, f.minor = err, minor
	}
	for _, i := range idx {
		f.unread = append(f.unread, base+i)
	}
}

// overItemError is GetMany's refusal of the keys whose values were over
// Options.MaxItemSize (errOverItemSize, which it wraps), naming their
// servers: the first overItemNames, then how many more. Such values were
// written by a process told a larger MaxItemSize, and the operator looks
// for them on each server the error names.
type overItemError struct {
	addrs []string // distinct, in the order found
}

// overItemNames is how many servers an overItemError names.
const overItemNames = 3

func (e *overItemError) Error() string {
	var b strings.Builder
	b.WriteString("memcached: get ")
	for i, a := range e.addrs[:min(len(e.addrs), overItemNames)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a)
	}
	if more := len(e.addrs) - overItemNames; more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	b.WriteString(": ")
	b.WriteString(causeText(errOverItemSize))
	return b.String()
}

func (e *overItemError) Unwrap() error { return errOverItemSize }

// note adds the server addr, unless it is named already.
func (e *overItemError) note(addr string) {
	if !slices.Contains(e.addrs, addr) {
		e.addrs = append(e.addrs, addr)
	}
}

// merge notes the failures of g, whose key indexes are offset by base.
func (f *getFailures) merge(base int, g getFailures) {
	if g.err != nil {
		f.add(base, g.unread, g.err)
	}
}

// batchEnd returns the end of the GetMany batch of mkeys that starts at lo:
// at most getManyBatchKeys keys and getManyBatchBytes bytes of keys (each
// with the space before it), and at least one key.
func batchEnd(mkeys []string, lo int) int {
	hi := min(len(mkeys), lo+getManyBatchKeys)
	n := len(mkeys[lo]) + 1
	for i := lo + 1; i < hi; i++ {
		n += len(mkeys[i]) + 1
		if n > getManyBatchBytes {
			return i
		}
	}
	return hi
}

// getBatch reads mkeys and stores their values in out (out[i] for mkeys[i];
// an empty value is a non-nil, empty slice), noting in f the keys it could
// not read (their indexes offset by base). It reads them with one GetMulti,
// which sends each server its keys in parallel. Only when that fails, with
// several servers, are the keys it returned no value for read again, of
// the servers that failed it (see answeredWhole), each server's with a
// GetMulti of its own, the servers in parallel, so that a
// server that fails, or is marked down (which fails a GetMulti before it
// sends anything), fails its own keys only: one GetMulti of them all says
// neither which server failed nor, once one is marked down, reads the
// others. A healthy GetMany so costs what one GetMulti does (splitting
// every batch by server cost 20 allocations more for 10 keys over two
// servers); a failing one costs one GetMulti more, to a server that failed
// at once (a dial refused, a server marked down) as a rule. A server that
// timed out since the GetMulti began (serverList.timeouts) is not asked
// again: its keys are noted unread with its timeout, so that a server that
// hangs makes the GetMany wait Options.Timeout once, not twice. (A timeout
// of another call to it meanwhile counts too: the keys of it that this
// GetMulti found missing, which it cannot tell from keys unread, are then
// noted unread.) A server's GetMulti refused with backend.ErrKeyRefused (a
// proxy with one upstream dead: twemproxy fails a multi-get with one key on
// it as a whole) is read again one get per key (see readAgain), so that
// only the dead upstream's keys are unread.
func (s *Store) getBatch(ctx context.Context, mkeys []string, out [][]byte, base int, f *getFailures) {
	l := s.servers
	since, lostSince := l.timeouts.Load(), l.losses.Load()
	var one *serverHealth // the server of every key, when there is one
	if l.servers == 1 {
		one = l.health[0]
	}
	refused, err := s.getMulti(ctx, mkeys, out, one)
	if err == nil || l.servers > 1 {
		// Refused with several servers whatever err: a server that
		// answered whole is not asked again (see answeredWhole).
		if len(refused) > 0 {
			oe := &overItemError{}
			for _, i := range refused {
				oe.note(l.of(mkeys[i]).addr)
			}
			f.add(base, refused, oe)
		}
		if err == nil {
			return
		}
	}
	if s.closed.Load() {
		// Close cut the multi-get short: a server whose connection it
		// refused lost none, and its keys would pass for answered
		// whole (see answeredWhole), misses.
		var idx []int
		for i, v := range out {
			if v == nil && (l.servers == 1 || !slices.Contains(refused, i)) { // refused: noted above
				idx = append(idx, i)
			}
		}
		f.add(base, idx, fmt.Errorf("memcached: get: %w", backend.ErrClosed))
		return
	}
	if l.servers == 1 {
		idx := make([]int, len(mkeys))
		for i := range idx {
			idx[i] = i
		}
		f.merge(base, s.readAgain(ctx, mkeys, out, idx, one, err))
		return
	}
	// The keys without a value, by server: unread, or a miss; not those
	// refused (in order: see getMulti).
	groups := make([][]int, len(l.addrs)) // indexes in mkeys
	for i, k := range mkeys {
		if len(refused) > 0 && refused[0] == i {
			refused = refused[1:]
			continue
		}
		if out[i] == nil {
			g := l.pick(k)
			groups[g] = append(groups[g], i)
		}
	}
	answeredWhole(groups, l, lostSince, err)
	for g, idx := range groups {
		h := l.health[g]
		if tf := h.timedOut.Load(); len(idx) > 0 && tf != nil && tf.seq > since {
			f.add(base, idx, fmt.Errorf("memcached: get %s: %w", h.addr, unprefixed(tf.err)))
			groups[g] = nil // not read again
		}
	}
	fails := make([]getFailures, len(groups))
	read := func(g int) {
		idx := groups[g]
		keys := make([]string, len(idx))
		vals := make([][]byte, len(idx))
		for j, i := range idx {
			keys[j] = mkeys[i]
		}
		refused, err := s.getMulti(ctx, keys, vals, l.health[g])
		for j, i := range idx {
			out[i] = vals[j]
		}
		switch {
		case err != nil:
			fails[g] = s.readAgain(ctx, mkeys, out, idx, l.health[g], err)
		case len(refused) > 0:
			for j, i := range refused {
				refused[j] = idx[i]
			}
			fails[g].add(0, refused, &overItemError{addrs: []string{l.health[g].addr}})
		}
	}
	// The last server's keys are read on this goroutine, the others' on
	// one each.
	last := -1
	var wg sync.WaitGroup
	for g, idx := range groups {
		if len(idx) == 0 {
			continue
		}
		if prev := last; prev >= 0 {
			wg.Go(func() { read(prev) })
		}
		last = g
	}
	if last >= 0 {
		read(last)
	}
	wg.Wait()
	for _, gf := range fails {
		f.merge(base, gf)
	}
}

// answeredWhole drops from groups (the keys of a failed multi-get
// without a value, by server: see getBatch) those of the servers that
// answered it whole: their keys without a value are misses, which a
// second get would ask those servers for again. A server whose part of
// the multi-get failed lost its connection (see serverHealth.lose: a dial
// that failed, or a connection gomemcache closed after the failure, before
// the GetMulti returned) since lostSince, the list's losses before it
// began; one that did not answered whole. A loss of another call's counts
// too, as a timeout does in getBatch: that server's keys are read again,
// as every key without a value once was. Nothing is dropped when err
// failed the GetMulti before it sent anything (a server marked down,
// refused by PickServer: see refusedError; a malformed key), nor when no
// server lost a connection: the failure is then nobody's the Store can
// tell, and every key without a value is read again.
func answeredWhole(groups [][]int, l *serverList, lostSince uint64, err error) {
	var re *refusedError
	if errors.As(err, &re) || errors.Is(err, memcache.ErrMalformedKey) {
		return
	}
	lost := false
	for g := range groups {
		lost = lost || l.health[g].lostAt.Load() > lostSince
	}
	if !lost {
		return
	}
	for g := range groups {
		if l.health[g].lostAt.Load() <= lostSince {
			groups[g] = nil
		}
	}
}

// readAgain returns the keys of mkeys at idx, all on the server of h, that
// are unread after their multi-get failed with err (out holds what it
// read), and their error (the first real failure, rather than a refusal).
// The values the multi-get read before it failed are kept: gomemcache
// returns a value once its data block is read whole (and the reply's
// frame checked it: see replyFrame), its key one the get asked for, and a
// reply out of step with its request left none (see getMulti). A failure
// after the value of every key leaves no key unread: it is the server's
// alone, counted in its health (see healthConn), not the call's.
//
// Behind a proxy, one address in front of several servers, a multi-get
// with one key on a dead upstream is failed as a whole by twemproxy
// (twitter/twemproxy#340): every key of the proxy in the batch would be
// unread for the dead one's sake. So when err is a refusal of a key
// (backend.ErrKeyRefused: the server gave a normal reply within the last
// second), the keys the multi-get returned no value for are read again
// with one get each (getEach), and only the dead upstream's are refused.
// Any other error is that of the keys without a value, all of them
// unread: a server down, hung, or whose every reply is an error, is not
// asked again.
func (s *Store) readAgain(ctx context.Context, mkeys []string, out [][]byte, idx []int, h *serverHealth, err error) getFailures {
	var ef getFailures
	var left []int // the keys without a value: unread, or a miss
	for _, i := range idx {
		if out[i] == nil {
			left = append(left, i)
		}
	}
	switch {
	case len(left) == 0:
	case errors.Is(err, backend.ErrKeyRefused):
		s.getEach(ctx, mkeys, out, left, h, err, &ef)
	default:
		ef.add(0, left, err)
	}
	return ef
}

// getEach reads the keys of mkeys at idx, all on the server of h, one get
// each, after their multi-get was refused with err (see readAgain), stores
// their values in out (a miss leaves nil) and notes in ef those it could
// not read. The gets are bounded together by Options.Timeout from the
// first: none starts after it (the keys left are unread, with err), nor
// once ctx is done or the Store closed (unread with that error, as GetMany
// fails between batches), nor after the server timed out since the first
// began (unread with that timeout, as in getBatch); the one under way is
// bounded by Timeout, as every call is. One after the other: a refused
// key's connection is kept, when its reply was the error line alone (see
// connSet.park), for the next get, where a batch of them in parallel would
// hold, or dial, as many at once.
func (s *Store) getEach(ctx context.Context, mkeys []string, out [][]byte, idx []int, h *serverHealth, err error, ef *getFailures) {
	since := h.list.timeouts.Load()
	deadline := time.Now().Add(s.opts.Timeout)
	for n, i := range idx {
		if tf := h.timedOut.Load(); tf != nil && tf.seq > since {
			ef.add(0, idx[n:], fmt.Errorf("memcached: get %s: %w", h.addr, unprefixed(tf.err)))
			return
		}
		if time.Now().After(deadline) {
			ef.add(0, idx[n:], fmt.Errorf("memcached: %d keys not read one by one within Options.Timeout after their multi-get was refused: %w",
				len(idx)-n, unprefixed(err)))
			return
		}
		if cerr := s.start(ctx); cerr != nil {
			ef.add(0, idx[n:], fmt.Errorf("%w (%d keys not read one by one after their multi-get was refused)", cerr, len(idx)-n))
			return
		}
		v, gerr := s.getKey(ctx, mkeys[i])
		switch {
		case gerr == nil:
			out[i] = v
		case !errors.Is(gerr, backend.ErrNotFound):
			ef.add(0, idx[n:n+1], gerr)
		}
	}
}

// getMulti reads mkeys with one GetMulti and stores their values in out
// (out[i] for mkeys[i]; an empty value is a non-nil, empty slice), those it
// read before failing included, and returns the indexes of the keys whose
// value was over Options.MaxItemSize, skipped (see maxSkipped): refused,
// their out nil (in order; those read before a failure included, but for
// the keys of a reply out of step, below). h is the server of every key, or nil when they may be on
// several (see serverHealth.wrap). With h, a GetMulti that a stale pooled
// connection, or one out of step, failed is tried again (see again);
// without, it is not: the other servers' replies were read, and getBatch
// reads the keys left without a value again, each server's apart, where
// a second GetMulti of every key asked the servers that had answered for
// all of theirs again.
//
// A reply holding the value of a key not asked for fails the call with
// errOtherKey (or the GetMulti's own error, when it failed too), and
// closes the idle connections, as getItem does (the connection that read
// it writes no request again): the connection is out of
// step with its replies (or the server hostile): the keys asked for that
// the reply has no value of are not misses, and the values it has may
// answer an earlier command. Its keys are unread, their out nil: every
// key with one server (h not nil), and with several those of each server
// a key not asked is on (see dropOutOfStep). The other servers' values,
// read on connections of their own, are kept. So with a GetMulti that
// failed after a reply named a key not asked for, before gomemcache read
// that key's value whole (the key is then not in the GetMulti's values):
// the frame told the server (serverHealth.strayed), and its values, read
// before the failure, may answer an earlier get too. A reply out of step
// of another call's to the same server meanwhile counts as well (the
// server's keys are read again, or unread): it is told by the server, not
// the connection.
func (s *Store) getMulti(ctx context.Context, mkeys []string, out [][]byte, h *serverHealth) (refused []int, err error) {
	l := s.servers
	strays := l.strays.Load()
	m, err := s.client.GetMulti(mkeys)
	for n := 1; h != nil && s.again(ctx, &err, n); n++ {
		strays = l.strays.Load()
		m, err = s.client.GetMulti(mkeys)
	}
	for i, k := range mkeys {
		if it, ok := m[k]; ok {
			if s.isOverItem(it.Value) {
				refused = append(refused, i)
				continue
			}
			out[i] = unpad(it.Value)
			if out[i] == nil {
				out[i] = []byte{}
			}
		}
	}
	if len(m) > 0 {
		for _, k := range mkeys {
			delete(m, k) // m is the call's own; keys may repeat
		}
	}
	if len(m) > 0 || err != nil && s.strayedSince(h, strays) {
		_ = s.client.Close()
		if h != nil {
			clear(out)
			refused = nil
		} else {
			refused = s.dropOutOfStep(mkeys, out, refused, m, strays)
		}
		if err == nil {
			err = errOtherKey
		}
		return refused, h.wrap("get", err)
	}
	return refused, h.wrap("get", err)
}

// strayedSince reports whether a reply out of step (see
// serverHealth.strayed) was read since the list's strays were since: of
// h, or with h nil of any server.
func (s *Store) strayedSince(h *serverHealth, since uint64) bool {
	if h != nil {
		return h.strayAt.Load() > since
	}
	return s.servers.strays.Load() > since
}

// dropOutOfStep sets out[i] to nil, and returns refused (indexes in
// mkeys) without them, for the keys mkeys[i] of the servers
// of the keys of others, the values of a multi-get's reply of keys it did
// not ask (see getMulti), and of the servers whose reply named a key not
// asked for since the list's strays were since (see serverHealth.strayed).
// gomemcache merges the servers' replies into one
// map: the connection out of step is told by its keys, those of an
// earlier get on it, of the same server's keys, or by its frame. The keys of the other
// servers keep their values, read on connections of their own, and only
// the keys without a value are read again (see getBatch), where every
// key of the batch was read again after one connection out of step. A
// hostile server that sends keys of another server has that
// one's keys read again, and its own too (its frame saw the keys). A server is told by its address, not its place in
// Options.Servers: gomemcache sends a server listed twice a multi-get for
// each place, on connections of the one pool of its address, and the
// earlier get a connection is out of step with may have been of the
// other place's keys.
func (s *Store) dropOutOfStep(mkeys []string, out [][]byte, refused []int, others map[string]*memcache.Item, since uint64) []int {
	l := s.servers
	var stray []*serverHealth // distinct
	note := func(h *serverHealth) {
		if !slices.Contains(stray, h) {
			stray = append(stray, h)
			h.lose() // its keys are read again (see answeredWhole)
		}
	}
	for k := range others {
		note(l.of(k))
	}
	for _, k := range mkeys {
		if h := l.of(k); h.strayAt.Load() > since {
			note(h)
		}
	}
	for i, k := range mkeys {
		if slices.Contains(stray, l.of(k)) {
			out[i] = nil
		}
	}
	return slices.DeleteFunc(refused, func(i int) bool { return slices.Contains(stray, l.of(mkeys[i])) })
}

// item builds the item for key, checking the TTL and the size.
func (s *Store) item(ctx context.Context, key string, value []byte, ttl time.Duration) (*memcache.Item, error) {
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return nil, fmt.Errorf("memcached: %w", err)
	}
	k, err := s.key(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(value)+len(k)+itemOverhead > s.opts.MaxItemSize {
		return nil, fmt.Errorf("memcached: value of %d bytes over Options.MaxItemSize %d (less the key and %d bytes of item overhead): %w",
			len(value), s.opts.MaxItemSize, itemOverhead, backend.ErrValueTooLarge)
	}
	return &memcache.Item{Key: k, Value: value, Expiration: expiration(ttl, time.Now())}, nil
}

// Set stores value under key for ttl. TTLs are whole seconds: parts of a
// second round up (see Options). A value too large for the servers' item
// size gets backend.ErrValueTooLarge, nothing is stored, and the older
// value under key is removed, so that a refused write never leaves the
// value it was to replace readable: when Options.MaxItemSize refuses it,
// Set deletes the key (as Delete does, one round trip more); when
// MaxItemSize is set above a server's own limit (-I) and the server
// refuses it, memcached deletes the older value itself.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	it, err := s.item(ctx, key, value, ttl)
	if errors.Is(err, backend.ErrValueTooLarge) {
		return s.refuse(ctx, key, err)
	}
	if err != nil {
		return err
	}
	if err = s.set(ctx, it); err == nil {
		return nil
	}
	if err = s.servers.of(it.Key).wrap("set", err); errors.Is(err, backend.ErrValueTooLarge) {
		// Refused by the server: over its -I, or no memory for it now. On
		// the second, memcached keeps the older value readable.
		return s.refuse(ctx, key, err)
	}
	return err
}

// set is gomemcache's Set of it, tried again when a stale pooled
// connection, or one out of step, failed it (see again).
func (s *Store) set(ctx context.Context, it *memcache.Item) error {
	return s.retried(ctx, func() error { return s.client.Set(it) })
}

// retried runs try, a write that may be sent twice (a set, a delete), and
// again while again says. It returns the last try's error, but for one
// that says the write surely did not reach the server (unsent: a
// connection refused, the server marked down) after a try that may have
// (its pooled connection dropped once its request was written: a server
// going down after it ran it): that try's error then, the refusal told in
// its text only (ranError). A Cache takes a refusal for a release of its
// lease that did not land, and keeps the lease as its own; that one may
// have landed, and another process may hold the key's lease since.
func (s *Store) retried(ctx context.Context, try func() error) error {
	err := try()
	var ran error
	for n := 1; s.again(ctx, &err, n); n++ {
		if ran == nil && !unsent(err) {
			ran = err
		}
		err = try()
	}
	if ran != nil && unsent(err) {
		return &ranError{ran: ran, last: err}
	}
	return err
}

// ranError is retried's error: ran, the failure of a try the server may
// have run, and last, the later try's, which it surely did not. It wraps
// ran only, and the context's error when last is a try not made again
// because its caller left (stoppedError): a caller gone is no failure of
// the server.
type ranError struct{ ran, last error }

func (e *ranError) Error() string { return e.ran.Error() + "; retried: " + e.last.Error() }

func (e *ranError) Unwrap() []error {
	if se, ok := e.last.(*stoppedError); ok {
		return []error{e.ran, se.ctx}
	}
	return []error{e.ran}
}

// refuse deletes key for a Set refused with err (too large), as memcached
// does when the server refuses one: its caller has moved on from the older
// value (a database updated, say) and must not read it back. It deletes as
// Delete does, under the generation read afresh, so that the delete is not
// lost to another process's Clear. It returns err, joined with the delete's
// error if that failed.
func (s *Store) refuse(ctx context.Context, key string, err error) error {
	if derr := s.Delete(ctx, key); derr != nil {
		return errors.Join(err, derr)
	}
	return err
}

// Add stores value under key if it is absent, with memcached's atomic add.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	it, err := s.item(ctx, key, value, ttl)
	if err != nil {
		return false, err
	}
	err = s.add(ctx, it)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrNotStored):
		return false, nil
	}
	return false, s.servers.of(it.Key).wrap("add", err)
}

// Delete removes the keys after reading the namespace's generation (one
// round trip; see DeleteCount). gomemcache has no multi-key nor pipelined
// delete: each key is one round trip. The caller's goroutine deletes keys
// one after the other, and helper goroutines delete others beside it when
// the Store has one free: up to min(8, Options.MaxIdleConns)-1 helpers run
// at once across all the Store's calls (not per call). A call alone thus
// takes about len(keys)/8 round trips rather than len(keys), while n calls
// at once share the helpers, with at most n+min(8, MaxIdleConns)-1 deletes
// in flight (as many connections) rather than 8 each. A call that finds no
// helper free goes on alone, taking helpers as they are freed (a helper
// stays with its call until that call's keys run out), and never waits for
// another call; one key is deleted on the caller's goroutine,
// with no helper. It checks ctx, and whether the Store is closed, before
// starting each key: a context done partway stops the call with the
// context's error (backend.ErrClosed for a Store closed), once the deletes
// under way have ended (each bounded by Options.Timeout, not by ctx): the
// keys are started in order, those started by then are deleted (after
// Close, those under way may or may not be), and those after them left
// alone.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	_, err := s.DeleteCount(ctx, keys...)
	return err
}

// DeleteCount removes the keys, as Delete does, and returns how many of
// them held an entry: those the server deleted rather than reported missing
// (backend.DeleteCounter). A key whose delete fails (its server down, hung
// or refusing) does not stop the others: the call goes on with the rest,
// so that one server down does not leave the keys on the others undeleted,
// and then fails with the first such error (saying how many more keys were
// not deleted) and the count of the keys deleted. A context done, or the
// Store closed, starts no key after it: the deletes under way are waited
// for, and its error is returned (joined with the keys' errors) with the
// count of the keys deleted by then, those under way when it happened
// included.
//
// Unlike the other calls it does not trust the generation this process
// read within Options.GenerationTTL: it reads it again first, so that a
// delete made just after another process's Clear removes the entries
// written since, and also deletes under the generations this process
// trusted before that read and trusts after it (a read of its own may
// overtake the delete's), where they differ, for the processes still on
// them. The count is of the current generation's entries: the read's. The
// deletes under the others are best effort: an error there, a context done
// included, is not reported, the keys being gone from the current
// generation.
//
// When the generation cannot be read (its server down or hung), the keys
// are deleted under the generation last read, if within
// Options.GenerationGrace, so that this process, and the others still on
// it, stop serving them, and the call fails all the same, with a count of
// 0: another process may have moved to a newer generation meanwhile (a
// Clear), where the keys are left, so the caller must try again (the
// caching package retries a failed invalidation) once the generation can
// be read; and the entries deleted under the generation read last may have
// been none live (backend.DeleteCounter's count is never more than the
// live entries removed), where counting those deletes overstated it. Within a second of a read that timed out, the call does not read
// it again and fails the same way at once, so that a hung server does not
// make each delete wait Options.Timeout.
func (s *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) {
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, nil
	}
	ps, err := s.deletePrefixes(ctx)
	if err != nil {
		if len(ps) == 0 {
			return 0, err
		}
		// No count: the generation may not be the current one.
		_, derr := s.deleteUnder(ctx, ps[0], keys)
		return 0, errors.Join(err, derr)
	}
	n, err := s.deleteUnder(ctx, ps[0], keys)
	for _, p := range ps[1:] {
		// Best effort: nothing reads an old generation once GenerationTTL
		// has passed, and the keys are gone from the current one (those
		// whose server answers: the others fail the call). A context done
		// or the Store closed starts no key of it.
		_, _ = s.deleteUnder(ctx, p, keys)
	}
	return n, err
}

// maxDeletesInFlight bounds the deletes a Delete or DeleteCount of many keys
// has in flight at once (gomemcache has no multi-key nor pipelined delete:
// one round trip per key): its caller's and maxDeleteHelpers helpers'.
// Each delete in flight holds one of the client's connections to its server
// for its round trip, and the pool keeps Options.MaxIdleConns of them per
// server, closing any connection given back beyond that: the bound is
// therefore also at most MaxIdleConns, so that a Delete dials no connection
// it would then close (a dial, and a socket in TIME_WAIT, per key). Within
// that, 8: the round trip bounds a delete, not memcached (which answers one
// in microseconds), so 8 in flight take 1000 keys from 1000 round trips to
// 125, while more would save less and less of the call's time and take more
// of the pool from the Store's other calls (8 leave half of the default 16
// to them; a call that finds the pool empty dials a connection of its own).
const maxDeletesInFlight = 8

// maxDeleteHelpers is the most helper goroutines the Store's Delete and
// DeleteCount calls run at once, all calls together: maxDeletesInFlight
// (at most Options.MaxIdleConns) less the caller's goroutine. The bound is
// per Store, so that many calls at once (a burst of invalidations) do not
// each take a pool's worth of connections: with n calls under way, at most
// n+maxDeleteHelpers deletes are in flight. A caller's own deletes are not
// counted against it: each call always makes progress on its own keys, so
// that none waits for another's helpers, and nothing can deadlock.
func (s *Store) maxDeleteHelpers() int {
	return min(maxDeletesInFlight, s.opts.MaxIdleConns) - 1
}

// acquireDeleteHelper takes one of the Store's helper slots if one is free,
// without waiting, and reports whether it did. releaseDeleteHelper gives it
// back.
func (s *Store) acquireDeleteHelper() bool {
	limit := int32(s.maxDeleteHelpers())
	for n := s.deleteHelpers.Load(); n < limit; n = s.deleteHelpers.Load() {
		if s.deleteHelpers.CompareAndSwap(n, n+1) {
			return true
		}
	}
	return false
}

func (s *Store) releaseDeleteHelper() {
	s.deleteHelpers.Add(-1)
}

// deleteUnder deletes keys under the generation prefix p and returns how
// many held an entry. The caller's goroutine deletes them in turn; before
// each key, while keys are left beyond the one it takes, it starts a helper
// goroutine for each slot the Store has free (acquireDeleteHelper, which
// never waits), up to maxDeletesInFlight-1 helpers for the call (at most
// Options.MaxIdleConns-1, and one less than its keys), and no more at once
// than the keys left. A helper deletes keys
// until none is left or the run stops, then frees its slot. One key, or
// MaxIdleConns 1, is deleted on the caller's goroutine alone, starting none
// and allocating nothing. No delete starts once ctx is done, the Store is
// closed (a check costs far less than the round trip each key takes); the
// deletes under way are waited for, and counted, before it returns. A key
// whose delete fails is noted (keyerrs.Failures) and the others go on; the
// Store closed under a delete stops the run as a done context does.
func (s *Store) deleteUnder(ctx context.Context, p string, keys []string) (int, error) {
	workers := min(maxDeletesInFlight, s.opts.MaxIdleConns, len(keys))
	if workers <= 1 {
		n := 0
		var failed keyerrs.Failures
		for _, k := range keys {
			if err := s.start(ctx); err != nil {
				return n, failed.Join(err)
			}
			found, err := s.deleteKey(ctx, storeKey(p, k))
			switch {
			case errors.Is(err, backend.ErrClosed):
				return n, failed.Join(err)
			case err != nil:
				failed.Add(err, backend.Neutral(err))
			case found:
				n++
			}
		}
		return n, failed.Join(nil)
	}
	// The memcached keys, made here rather than by the goroutines: keys
	// itself then does not escape, and the variadic slice of a Delete
	// stays on its caller's stack.
	mkeys := make([]string, len(keys))
	for i, k := range keys {
		mkeys[i] = storeKey(p, k)
	}
	d := &deleteRun{s: s, ctx: ctx, mkeys: mkeys}
	// Even if a delete panics on this goroutine, the helpers stop taking
	// keys and end before the call does.
	defer func() {
		if p := recover(); p != nil {
			d.fail(fmt.Errorf("memcached: delete panicked: %v", p))
			d.wg.Wait()
			panic(p)
		}
	}()
	helpers := 0 // started by this call
	for {
		i, left, ok := d.take()
		if !ok {
			break
		}
		// As many helpers as slots are free, up to the call's share and
		// to the keys left (a helper that finds none left ends at once).
		for started := 0; started < left && helpers < workers-1 && s.acquireDeleteHelper(); started++ {
			helpers++
			d.wg.Go(func() {
				defer s.releaseDeleteHelper()
				d.work()
			})
		}
		if !d.delete(i) {
			break
		}
	}
	d.wg.Wait()
	return int(d.found.Load()), d.failed.Join(d.err)
}

// deleteKey deletes the memcached key mk and reports whether it held an
// entry. A delete is idempotent: one that a stale pooled connection, or
// one out of step, failed is tried again (see again).
func (s *Store) deleteKey(ctx context.Context, mk string) (bool, error) {
	err := s.retried(ctx, func() error { return s.client.Delete(mk) })
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	}
	return false, s.servers.of(mk).wrap("delete", err)
}

// deleteRun is a deleteUnder of several keys, shared by its caller's
// goroutine and its helpers.
type deleteRun struct {
	s     *Store
	ctx   context.Context
	mkeys []string     // the memcached keys to delete
	found atomic.Int64 // keys that held an entry
	wg    sync.WaitGroup

	mu     sync.Mutex
	next   int              // the next key to delete
	err    error            // what stopped the run; no key is taken after it
	failed keyerrs.Failures // the keys whose delete failed, the run going on
}

// work is a helper's loop: it deletes keys until none is left or the run
// stops.
func (d *deleteRun) work() {
	for {
		i, _, ok := d.take()
		if !ok || !d.delete(i) {
			return
		}
	}
}

// delete deletes the i-th key and counts it if it held an entry. An error
// of the key's server is noted and the run goes on with the other keys; the
// Store closed stops the run, and delete then reports false.
func (d *deleteRun) delete(i int) bool {
	found, err := d.s.deleteKey(d.ctx, d.mkeys[i])
	if errors.Is(err, backend.ErrClosed) {
		d.fail(err)
		return false
	}
	if err != nil {
		d.mu.Lock()
		d.failed.Add(err, backend.Neutral(err))
		d.mu.Unlock()
		return true
	}
	if found {
		d.found.Add(1)
	}
	return true
}

// take returns the next key's index, after checking, as deleteUnder's loop
// on one goroutine does before each key, that ctx is not done and the
// Store not closed, and how many keys are left after it. It reports
// false when no key is left or the run has stopped. The check and the
// taking are one step under mu: the keys taken are always the first ones,
// and none is taken once the run has stopped.
func (d *deleteRun) take() (i, left int, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil || d.next == len(d.mkeys) {
		return 0, 0, false
	}
	if err := d.s.start(d.ctx); err != nil {
		d.err = err
		return 0, 0, false
	}
	d.next++
	return d.next - 1, len(d.mkeys) - d.next, true
}

// fail stops the run with err, unless it has stopped already.
func (d *deleteRun) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
	}
}

// Incr adds delta to the counter under key with memcached's incr (decr for
// a negative delta) and returns the new value. A missing key is created
// (add, retried if another client created it first) without expiry.
//
// memcached counters are unsigned 64-bit: a decrement stops at 0 instead of
// going negative (so Incr(k, -5) on a missing key stores and returns 0), a
// stored "-3" is not a number to memcached, and a result above
// math.MaxInt64 (or past 2^64, where memcached wraps), or a value above it
// before a decrement (a stored uint64), is an error wrapping
// backend.ErrNotInteger, after which the change is taken back (memcached
// applies it before the Store sees the result). When taking it back fails
// (sent again only when it surely never reached the server), the error
// says so, joined with the failure's, and wraps backend.ErrNotInteger: the
// counter may be left above math.MaxInt64, every later Incr of it failing
// with backend.ErrNotInteger until it is Set, deleted or expires (a
// counter wedged so tells it; one taken back twice would be wrong
// silently). It can fail on a healthy server too: memcached (1.6) now and
// then refuses arithmetic on a value at or above 2^63 as non-numeric (its
// parser looks for a '-' past the value's end, in whatever memory follows
// it), and the undo is then not applied. A value that is not a
// decimal integer gives an error wrapping backend.ErrNotInteger when
// memcached refuses it; one it reads as C's strtoull does ("5 apples",
// " 5", "+5", "007", "-0") is counted from and replaced (see the package
// doc). A result with fewer digits than the value had is padded with spaces
// by memcached; Get and GetMany return it without them.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	k, err := s.key(ctx, key)
	if err != nil {
		return 0, err
	}
	// A decrement is sent as at most math.MaxInt64: memcached stops it at
	// 0, where 2^63 would make 2^63 and any smaller counter alike, and a
	// counter in range decremented by MaxInt64 is at 0 already, where one
	// more would leave it. So a result above 0 tells the value before it,
	// n+dec, exactly.
	dec := uint64(0)
	if delta < 0 {
		dec = uint64(-(delta + 1)) // -delta-1, at most math.MaxInt64
		if delta != math.MinInt64 {
			dec++
		}
	}
	op := "incr"
	if delta < 0 {
		op = "decr"
	}
	for range 5 {
		var n uint64
		if delta >= 0 {
			n, err = s.counter(ctx, "incr", k, uint64(delta))
		} else {
			n, err = s.counter(ctx, "decr", k, dec)
		}
		switch {
		case err == nil:
			if delta >= 0 && n < uint64(delta) {
				// memcached's incr wraps modulo 2^64: the value was
				// above math.MaxInt64 already (a stored uint64).
				// Adding 2^64-delta takes it back, modulo 2^64, and
				// keeps the increments others made meanwhile.
				return 0, s.undoIncr(k, "incr", -uint64(delta))
			}
			if n > math.MaxInt64-dec {
				// The result, or for a decrement the value it was
				// taken from (n+dec), is above math.MaxInt64: the
				// server has applied delta already, so take it back
				// (with the opposite command, so that changes made
				// meanwhile by others stay), as the other backends
				// leave a value they cannot count from.
				if delta >= 0 {
					return 0, s.undoIncr(k, "decr", uint64(delta))
				}
				return 0, s.undoIncr(k, "incr", dec)
			}
			return int64(n), nil
		case errors.Is(err, memcache.ErrCacheMiss):
			init := max(delta, 0)
			err = s.add(ctx, &memcache.Item{Key: k, Value: strconv.AppendInt(nil, init, 10)})
			if err == nil {
				return init, nil
			}
			if !errors.Is(err, memcache.ErrNotStored) {
				return 0, s.servers.of(k).wrap("add", err)
			}
		case strings.Contains(err.Error(), "non-numeric"):
			return 0, fmt.Errorf("memcached: %w", backend.ErrNotInteger)
		default:
			return 0, s.servers.of(k).wrap(op, err)
		}
	}
	return 0, errors.New("memcached: Incr: the counter keeps being deleted and created")
}

// errAboveMaxInt64 is Incr's error for a counter it cannot count from: a
// result, or a value before a decrement, above math.MaxInt64.
var errAboveMaxInt64 = fmt.Errorf("memcached: counter above MaxInt64: %w", backend.ErrNotInteger)

// undoIncr takes back the change an Incr made past math.MaxInt64 (the
// server applies it before the Store sees the result), with op (incr or
// decr) by delta, and returns Incr's error: errAboveMaxInt64, or, when the
// undo failed, an error that says the counter may be left above
// math.MaxInt64 (every later Incr of it then fails with
// backend.ErrNotInteger, until it is Set, deleted or expires), joined with
// the undo's. The undo is sent again only when its failure proves that it
// never reached the server (unsent): one that may have been applied, its
// answer lost, would take delta back twice, leaving the counter wrong in
// range, where nothing tells it. A counter wedged above MaxInt64 says so
// with every Incr; one quietly off by delta does not.
func (s *Store) undoIncr(k, op string, delta uint64) error {
	var err error
	for range 3 {
		_, err = s.counter(context.Background(), op, k, delta) // taken back whatever the caller's context
		if err == nil {
			return errAboveMaxInt64
		}
		if !unsent(err) {
			break
		}
	}
	return errors.Join(
		fmt.Errorf("memcached: counter above MaxInt64, and its change may not be taken back: the counter may be left above MaxInt64 (Set or Delete it): %w", backend.ErrNotInteger),
		s.servers.of(k).wrap(op, err))
}

// unsent reports whether err, a command's error, proves that the command
// never reached the server: the Store refused it (a server marked down),
// its connection could not be opened, or writing it failed (a command is
// one line: one not written whole is not run).
func unsent(err error) bool {
	var re *refusedError
	var ce *memcache.ConnectTimeoutError
	var oe *net.OpError
	return errors.As(err, &re) || errors.As(err, &ce) || unwritten(err) ||
		errors.As(err, &oe) && (oe.Op == "dial" || oe.Op == "write")
}

// errBrokenCounterReply is counter's error for a reply that gomemcache's
// parse panicked on.
var errBrokenCounterReply = errors.New("memcached: a broken reply line, too short for its CRLF (the idle connections were closed)")

// counter is gomemcache's Increment (op "incr") or Decrement (op "decr") of
// the memcached key k by delta. gomemcache slices the reply line before it
// checks its length: a line shorter than its "\r\n" ("\n" alone) or a
// "CLIENT_ERROR " with nothing after it panics, in the caller's goroutine,
// and a broken (or hostile) server or proxy would crash the program. Such
// a line does not end in "\r\n": the connection's framing (see
// replyFrame) fails the read before gomemcache sees it, the call fails
// with errBadReply, and gomemcache closes the connection. counter still
// recovers a runtime panic of gomemcache's parse (none is known past the
// framing) and fails with errBrokenCounterReply, closing the idle
// connections, as getItem does for a reply out of step: gomemcache,
// unwinding, put the connection that read the line back in its pool, and
// what the server sent after it is no reply to the next command (another
// call could take it before they are closed: a window the framing leaves
// nothing to slip through).
//
// A connection out of step with its replies, or one the server closed
// (see unwritten: nothing was sent), is tried again, as add does (see
// outOfStepTries), while ctx is not done (see stopped).
func (s *Store) counter(ctx context.Context, op, k string, delta uint64) (n uint64, err error) {
	n, err = s.counterOnce(op, k, delta)
	for tries := 1; tries < s.outOfStepTries() && unwritten(err) && !stopped(ctx, &err); tries++ {
		n, err = s.counterOnce(op, k, delta)
	}
	return n, err
}

// counterOnce is counter's one command.
func (s *Store) counterOnce(op, k string, delta uint64) (n uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(runtime.Error); !ok {
				panic(r)
			}
			_ = s.client.Close()
			n, err = 0, errBrokenCounterReply
		}
	}()
	if op == "incr" {
		return s.client.Increment(k, delta)
	}
	return s.client.Decrement(k, delta)
}

// Clear drops this namespace's entries by moving it to a new generation
// (memcached cannot delete by prefix): the old entries are no longer read
// and age out of memcached's LRU. Other namespaces on the servers are not
// touched. Other processes see the Clear within Options.GenerationTTL. With
// Options.FlushOnClear, Clear sends flush_all to every server instead, one
// after the other: a server that fails (down or hung) does not stop the
// others from being flushed, and Clear returns the servers' errors joined.
// A flush_all is not sent to a server again once ctx is done.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.start(ctx); err != nil {
		return err
	}
	if s.opts.FlushOnClear {
		if s.flushOne == nil {
			// Not recorded by New (a gomemcache whose FlushAll calls
			// no Each): its FlushAll, whose retries ctx cannot stop.
			return wrap("flush_all", "", s.client.FlushAll())
		}
		return wrap("flush_all", "", s.servers.each(ctx, s.flushOne))
	}
	addr := s.servers.of(s.genKey).addr
	for range 3 {
		n, err := s.counter(ctx, "incr", s.genKey, 1)
		if err == nil {
			s.setGeneration(n, time.Now())
			return nil
		}
		if !errors.Is(err, memcache.ErrCacheMiss) && !strings.Contains(err.Error(), "non-numeric") {
			return wrap("incr", addr, err)
		}
		// No generation yet (or a foreign value): any fresh one clears.
		// Set as every set is (see set), on another connection after
		// one that wrote nothing.
		v := freshGeneration()
		err = s.set(ctx, &memcache.Item{Key: s.genKey, Value: v})
		if err == nil {
			n, _ := strconv.ParseUint(string(v), 10, 64)
			s.setGeneration(n, time.Now())
			return nil
		}
		if !dropped(err) || ctx.Err() != nil {
			return wrap("set", addr, err)
		}
	}
	return errors.New("memcached: Clear did not complete")
}

// Close closes every connection the Store opened, idle or in use: a call
// under way fails with an error wrapping backend.ErrClosed (a write it had
// sent may or may not have been applied). No connection is opened after
// it. It is idempotent; calls after it return backend.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.conns.closeAll()
	_ = s.client.Close() // forgets the idle connections, closed already
	return nil
}
