package caching

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Tags, per-path invalidation and Memoize generations share one mechanism.
//
// A tag's version is a random 64-bit number stored under its own key (kinds
// t, p and g in keys.go). An entry records the versions of its tags when it
// is written; a read fetches the entry and the current versions in one round
// trip and treats any difference as a miss. Invalidating deletes the version
// keys: the next write creates new random versions, which no entry was
// written under. Versions are random rather than counters so that a version
// key lost to eviction or expiry can only cause misses, never bring an
// invalidated entry back (the fault of Flask-Caching's memoize version keys,
// #531).

// version is a tag's current version and when its key expires.
type version struct {
	n     uint64 // never 0
	until int64  // Unix nanoseconds; 0: never
}

// versionSize is what a version counts, besides its key, against an
// in-process store's byte bound.
const versionSize = 16

// newVersion returns a random tag version, never 0.
func newVersion() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}

// formatVersion is a version as a remote store keeps it: the number in
// decimal, then "/" and the expiry of its key when it has one.
func formatVersion(v version) []byte {
	b := strconv.AppendUint(make([]byte, 0, 40), v.n, 10)
	if v.until != 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, v.until, 10)
	}
	return b
}

// parseVersion reads what formatVersion wrote; ok is false for a missing
// (nil) or malformed value.
func parseVersion(b []byte) (v version, ok bool) {
	if len(b) == 0 {
		return version{}, false
	}
	num, until, hasUntil := bytes.Cut(b, []byte{'/'})
	n, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil || n == 0 {
		return version{}, false
	}
	v.n = n
	if hasUntil {
		if v.until, err = strconv.ParseInt(string(until), 10, 64); err != nil || v.until <= 0 {
			return version{}, false
		}
	}
	return v, true
}

// InvalidateTags makes every entry written under any of tags a miss, in
// every process sharing the backend: the tags' version keys are deleted, in
// one call, whatever the number of entries, and no key is scanned. When the
// backend fails (or ctx ends first), the error is returned and the
// invalidation is also retried in the background until the backend
// answers (Stats.PendingInvalidations), so that the entries it was meant
// to end are not served once the backend is back; Close tries once more,
// then drops it and logs that at ERROR (see Close). A tag over 200 bytes
// (maxReadableKey) also has the key it had before tag keys were shortened
// deleted, for the entries an earlier release wrote under it: a few failed
// invalidations of tags of hundreds of KiB fill the retry set, whose
// overflow clears the backend's namespace once it answers.
func (c *Cache) InvalidateTags(ctx context.Context, tags ...string) error {
	keys := c.appendLegacyTagKeys(c.tagKeys(tags), tags)
	if err := c.invalidateRetried(ctx, "invalidate tags", keys); err != nil {
		return fmt.Errorf("caching: invalidate tags: %w", err)
	}
	return nil
}

// appendLegacyTagKeys appends to keys the version keys that tags over
// maxReadableKey bytes had before tag keys were shortened (b428253):
// entries written under them by an earlier release, or by a process not yet
// upgraded in a rolling deploy, record those keys, t/<whole tag>, and a
// direct read checks what an entry records. It costs nothing for the tags
// whose key did not change. A shorter tag of a shortened key's shape (also
// hashed since efe028c) gets none: its text as it is is the current key of
// the long tag that shortens to it, which a client could so invalidate
// ("user:"+id); no text over maxReadableKey bytes is any tag's current key.
// A legacy key is as long as its tag: in the retry set, it counts against
// maxPendingInvalidationBytes.
func (c *Cache) appendLegacyTagKeys(keys, tags []string) []string {
	for _, t := range tags {
		if len(t) <= maxReadableKey {
			continue
		}
		if legacy := c.prefix + kindTag + t; !slices.Contains(keys, legacy) {
			keys = append(keys, legacy)
		}
	}
	return keys
}

// InvalidatePath makes every cached response of each path a miss: every
// host, query string, Vary variant and user of it, under every view whose
// key is built from the path (the default KeyFormat, or one with %s; not
// KeyFunc: tag those), in every process sharing the backend. A path is the
// request's URL.Path, as net/http decodes it ("/products/a b", not
// "/products/a%20b"). Under a middleware that rewrites the path (a view
// mounted with http.StripPrefix("/v1", ...)), an entry records both paths,
// the one the client sent and the one the view sees: "/v1/users" and
// "/users" each reach it (and "/users" reaches every mount's). It costs
// one delete and never scans keys. A failure is retried in the background,
// as InvalidateTags says.
//
// A path's version key is created by the first request that may store a
// response for it, so that no client can leave keys for good: it expires
// four times the life of the view's entries after it was created, and
// after 28 days at most (for Forever, or any life over 7 days), and
// entries never outlive it. A response cached Forever is made again once
// its path's key has expired.
func (c *Cache) InvalidatePath(ctx context.Context, paths ...string) error {
	if err := c.invalidateRetried(ctx, "invalidate path", c.pathTagKeys(paths)); err != nil {
		return fmt.Errorf("caching: invalidate path: %w", err)
	}
	return nil
}

// pathTagKeys returns the version keys of paths.
func (c *Cache) pathTagKeys(paths []string) []string {
	keys := make([]string, len(paths))
	for i, p := range paths {
		keys[i] = c.pathTagKey(p)
	}
	return keys
}
