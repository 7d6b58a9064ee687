package redisstore

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// clearBatch is the COUNT hint of each SCAN, and so about how many keys one
// UNLINK round trip removes.
const clearBatch = 1000

// Clear deletes every key under the Store's prefix, and nothing else: no
// key of a Store whose prefix is a sibling of this one (see Prefix in the
// package doc; a nested prefix's keys are under this one's). SCAN MATCH
// prefix* in batches, each batch removed with UNLINK, or DEL (see
// Options.DeleteWithDEL); on a Cluster: on every master, concurrently, with
// one UNLINK per key in one pipeline per batch, since one UNLINK cannot span
// hash slots, each after ASKING, so that a master importing a slot during a
// resharding deletes the keys already moved to it (and a key that moves
// off a node between the SCAN that found it and its delete, which that
// node answers with -ASK or -MOVED, is deleted through the Cluster client,
// where it went). Every master is the
// masters CLUSTER SLOTS lists and those only CLUSTER NODES lists (one that
// owns no slot yet: the new node of a resharding), told apart by their
// cluster node ids (CLUSTER MYID; on Redis before 7.0, which has no
// CLUSTER MYID, the id of the line of a node's own CLUSTER NODES flagged
// myself). Such an extra master is dialed at the address CLUSTER NODES
// gives, turned as go-redis turns those of CLUSTER SLOTS, and cleared only
// if it answers with its id: one that cannot be reached from this host at
// that address, or where another server answers (an error reply other
// than a node's busy ones: a Redis without cluster support), is skipped,
// without an error, and the keys already moved to it survive Clear. A
// CLUSTER MYID or CLUSTER NODES that fails (a lost connection, a timeout,
// the client's credentials refused with NOAUTH or WRONGPASS, which the
// node itself may give while its password is being changed) is sent
// again, up to three times in all. If CLUSTER NODES still fails, or a master's
// CLUSTER MYID does while CLUSTER NODES lists a master that Clear cannot
// match, by id or by address, to one CLUSTER SLOTS lists (it may be the
// master whose id is unknown, or one that owns no slot), Clear returns an
// error, the masters CLUSTER SLOTS lists cleared, so that the caller's
// retry clears the others; where every master CLUSTER NODES lists is
// matched, nothing was missed and Clear returns nil. A user whose ACL
// refuses CLUSTER MYID or CLUSTER NODES (NOPERM), or a server that does
// not know CLUSTER NODES (renamed or removed commands), clears the masters
// CLUSTER SLOTS lists only, without an error; where those masters answer
// but a master that owns no slot refuses (its ACL or password changed
// before theirs, in a rollout), Clear fails: the keys moved to it would
// survive. (A master that owns no slot and refuses CLUSTER MYID is asked
// for the line of its CLUSTER NODES flagged myself first, which an ACL
// may allow.) A client of the program's
// type that embeds a *redis.ClusterClient (or a *redis.Ring) is cleared as
// one. On a Cluster (a Ring), a master's (a shard's) SCANs and UNLINKs
// that failed before the server ran them, or lost their connection, are
// sent again as the Cluster (the Ring) retries a command (up to
// MaxRedirects, MaxRetries, times, after its back-off): go-redis's
// clients of a Cluster's nodes and a Ring's shards retry nothing. A
// master that cannot be reached (its dial refused, or timed out) so costs
// Clear MaxRedirects+1 tries of its first SCAN, each as many dials as its
// client's DialerRetries, after the back-off, before Clear fails, within
// ctx, as many as a Delete of its keys costs. Clear does not
// stop at the first refused dial: a master that restarts refuses
// connections for a moment, and a retry then clears it where Clear would
// fail, for a call off the request path. It never uses KEYS. With
// Options.ClearFlushesDB it runs FLUSHDB instead (on every master of a
// Cluster), retried as the UNLINKs are.
//
// Keys written while Clear runs may survive it. Clear takes one SCAN round
// trip per 1000 keys of the database (all of them, not only this prefix's),
// so on a large shared database it is slow: it is for administration and
// tests, never for the request path (the caching package invalidates with
// versions, not with Clear; it calls Clear, in the background, only when
// more invalidations failed during an outage than it could keep to retry).
// A Cluster master marked down (see the package doc) is not skipped: Clear
// visits every master itself, as it did before masters were marked down.
func (b *Store) Clear(ctx context.Context) error {
	if b.closed.Load() {
		return errClosed
	}
	var err error
	switch c := b.client.(type) {
	case masterLister: // a Cluster client, or a type that embeds one
		err = forEveryMaster(ctx, c, func(ctx context.Context, node *redis.Client) error {
			return b.clearNode(ctx, node, true)
		})
	case shardLister: // a Ring, or a type that embeds one
		err = c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
			return b.clearNode(ctx, node, false)
		})
	default:
		err = b.clearNode(ctx, b.client, false)
	}
	if err != nil {
		return fail("clear", err)
	}
	return nil
}

// clearNode clears the prefix on one server. perKey sends one UNLINK per key
// (a Cluster node rejects multi-key commands across slots).
func (b *Store) clearNode(ctx context.Context, c redis.Cmdable, perKey bool) error {
	var p retryPolicy // the server's client's
	if node, ok := c.(redis.UniversalClient); ok {
		p = retryPolicyOf(node)
	}
	var scans retryPolicy // the SCANs' retries the Store makes: none, but where c makes none
	if p.retries <= 0 && !p.opaque {
		// go-redis gives the clients of a Cluster's nodes and of a Ring's
		// shards no retries (MaxRetries -1): the Cluster's or the Ring's
		// loop retries, and Clear's commands on a node do not go through
		// it. A SCAN or UNLINK whose connection was lost (the server
		// restarted) failed Clear where one more try would have done.
		// They are retried as that loop retries (the Store's policy; on
		// a client of one server, the same as c's). A client whose
		// policy the Store cannot see (opaque) keeps it: its commands
		// are sent as they are, for it to retry them as configured.
		p = retryPolicy{retries: b.retry.retries, minBackoff: b.retry.minBackoff, maxBackoff: b.retry.maxBackoff}
		scans = p
	}
	if b.flush {
		// FLUSHDB is idempotent: retried as an UNLINK is.
		cmd := redis.NewStatusCmd(ctx, "flushdb")
		return b.processIdempotent(ctx, c.(processor), p, cmd, noRetryStatusCmd{cmd}, nil)
	}
	var cursor uint64
	for {
		keys, next, err := scan(ctx, c, scans, cursor, b.match)
		if err != nil {
			return err
		}
		if err := b.deleting(func() error { return b.removeOn(ctx, c, p, keys, perKey) }); err != nil {
			return err
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// scan sends one SCAN from cursor for keys matching match on c, and sends
// it again, as p says, while it failed in a way that proves the server did
// not run it (notRun), or lost its connection (lostConn): a read.
func scan(ctx context.Context, c redis.Cmdable, p retryPolicy, cursor uint64, match string) ([]string, uint64, error) {
	keys, next, err := c.Scan(ctx, cursor, match, clearBatch).Result()
	for attempt := 1; err != nil && attempt <= p.retries && (notRun(err) || lostConn(err)); attempt++ {
		if !p.pause(ctx, attempt) {
			break
		}
		keys, next, err = c.Scan(ctx, cursor, match, clearBatch).Result()
	}
	return keys, next, err
}

// removeOn removes keys from one server, retried as p says, with UNLINK
// (or DEL), in one command, or with perKey (a Cluster node) in one command
// per key, each after ASKING, in one pipeline: a node importing a slot
// answers a command on it without ASKING with MOVED, though it holds the
// keys already moved.
// A key that left the node between the SCAN that found it and its delete
// (its slot migrating: the node answers -ASK, or -MOVED once the slot has
// moved) is deleted where it went, through the Cluster client, which
// follows the redirection: the node it went to may have been scanned
// before it arrived.
func (b *Store) removeOn(ctx context.Context, c redis.Cmdable, p retryPolicy, keys []string, perKey bool) error {
	if len(keys) == 0 {
		return nil
	}
	if !perKey {
		return b.deleteCmd(ctx, c, p, keys, nil).Err()
	}
	pipe := c.Pipeline()
	dels := make([]*redis.IntCmd, len(keys))
	for i := range keys {
		pipe.Do(ctx, "asking")
		dels[i] = b.deleteCmd(ctx, pipe, p, keys[i:i+1], nil)
	}
	err := b.execIdempotent(ctx, pipe, p, true, nil)
	if err == nil {
		return nil
	}
	var left []string
	for i, cmd := range dels {
		switch cerr := cmd.Err(); {
		case cerr == nil:
		case redirected(cerr):
			left = append(left, keys[i])
		default:
			return cerr
		}
	}
	if len(left) == 0 {
		// No delete failed, yet the pipeline did (a hook of the
		// client's refused it): nothing was deleted, nothing redirected.
		return err
	}
	pipe = b.client.Pipeline()
	for i := range left {
		b.deleteCmd(ctx, pipe, b.retry, left[i:i+1], nil)
	}
	return b.execIdempotent(ctx, pipe, b.retry, false, nil)
}

// redirected reports whether err is a Cluster node's redirection (-ASK or
// -MOVED): the key is served by another node.
func redirected(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "MOVED ")
}

// prefixEnd ends every Store's prefix, so that a prefix is the start of
// another only where one of the other's ':'-separated segments ends: "t-1"
// and "t-10" become "t-1:" and "t-10:", apart; only a nested prefix ("app:"
// in "app:v2:") still lies under another (see the package doc).
const prefixEnd = ':'

// keyPrefix returns the prefix a Store uses for Options.Prefix p:
// DefaultPrefix for "", else p ending with prefixEnd (appended if missing).
// Without it Clear, which deletes every key that starts with the prefix,
// would delete the keys of every prefix that merely extends it ("t-1"
// clearing "t-10"), and t-1's key "0x" would be t-10's key "x".
func keyPrefix(p string) string {
	switch {
	case p == "":
		return DefaultPrefix
	case p[len(p)-1] != prefixEnd:
		return p + string(prefixEnd)
	}
	return p
}

// globEscape escapes the characters that SCAN's MATCH pattern treats
// specially, so that the prefix matches only itself.
func globEscape(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}
