package cacheurl_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/null"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip stores, reads and deletes a value through b, and closes it.
func roundTrip(t *testing.T, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	key := "cacheurl-test-" + t.Name()
	require.NoError(t, b.Set(ctx, key, []byte("value"), time.Minute))
	got, err := b.Get(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "value", string(got))
	require.NoError(t, b.Delete(ctx, key))
	_, err = b.Get(ctx, key)
	assert.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, b.Close())
}

func TestOpenSimple(t *testing.T) {
	b, err := cacheurl.Open("simple://")
	require.NoError(t, err)
	assert.IsType(t, &simple.Store{}, b)
	roundTrip(t, b)
}

// TestOpenSimpleOptions: the parameters reach the store's Options, as its
// behaviour shows: max_entries=2 (and Flask's threshold=2) keeps two entries.
func TestOpenSimpleOptions(t *testing.T) {
	for _, raw := range []string{
		"simple://?max_entries=2&shards=1&max_bytes=1MiB&sweep_interval=-1",
		"SIMPLE://?threshold=2&shards=1&sweep_interval=30s",
		"simple:///?max_entries=2&shards=1",
	} {
		t.Run(raw, func(t *testing.T) {
			b, err := cacheurl.Open(raw)
			require.NoError(t, err)
			defer b.Close()
			ctx := context.Background()
			for _, k := range []string{"a", "b", "c"} {
				require.NoError(t, b.Set(ctx, k, []byte(k), 0))
			}
			n := 0
			for _, k := range []string{"a", "b", "c"} {
				if _, err := b.Get(ctx, k); err == nil {
					n++
				}
			}
			assert.Equal(t, 2, n, "entries kept")
		})
	}
	b, err := cacheurl.Open("simple://?max_bytes=1KiB&shards=1")
	require.NoError(t, err)
	defer b.Close()
	assert.ErrorIs(t, b.Set(context.Background(), "k", make([]byte, 2048), 0), backend.ErrValueTooLarge)
}

func TestOpenNull(t *testing.T) {
	b, err := cacheurl.Open("null://")
	require.NoError(t, err)
	assert.IsType(t, null.New(), b)
	require.NoError(t, b.Set(context.Background(), "k", []byte("v"), 0))
	_, err = b.Get(context.Background(), "k")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	for _, raw := range []string{
		"file://" + filepath.ToSlash(dir),
		"file://localhost" + filepath.ToSlash(dir) + "?namespace=other&max_entries=10&max_bytes=-1&file_mode=0640&dir_mode=750&sync=true&sweep_interval=-1",
	} {
		b, err := cacheurl.Open(raw)
		require.NoError(t, err)
		assert.IsType(t, &filesystem.Store{}, b)
		roundTrip(t, b)
	}
	// The namespaces are the store's subdirectories.
	_, err := os.Stat(filepath.Join(dir, filesystem.DefaultNamespace))
	assert.NoError(t, err)
	fi, err := os.Stat(filepath.Join(dir, "other"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm())
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		url    string
		ttl    time.Duration
		prefix string
	}{
		{"simple://", 0, ""},
		{"simple://?key_prefix=shop:&default_timeout=300", 5 * time.Minute, "shop:"},
		{"simple://?default_timeout=90s&max_entries=10", 90 * time.Second, ""},
		// Flask-Caching: a default timeout of 0 means no expiry.
		{"null://?default_timeout=0", caching.Forever, ""},
		{"null://?default_timeout=0s&key_prefix=a%2Fb", caching.Forever, "a/b"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			opts, err := cacheurl.Options(tc.url)
			require.NoError(t, err)
			assert.Equal(t, tc.ttl, opts.DefaultTTL)
			assert.Equal(t, tc.prefix, opts.KeyPrefix)
			c, err := caching.New(opts)
			require.NoError(t, err)
			require.NoError(t, c.Close())
		})
	}
}

// TestOptionsPrefixReachesKeys: key_prefix is the Cache's, in front of
// every key it writes to the backend.
func TestOptionsPrefixReachesKeys(t *testing.T) {
	dir := t.TempDir()
	opts, err := cacheurl.Options("file://" + filepath.ToSlash(dir) + "?key_prefix=shop:")
	require.NoError(t, err)
	c, err := caching.New(opts)
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", []byte("v"), 0))
	other, err := cacheurl.Options("file://" + filepath.ToSlash(dir))
	require.NoError(t, err)
	c2, err := caching.New(other)
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.Get(ctx, "k")
	assert.ErrorIs(t, err, caching.ErrNotFound, "another key prefix reads other keys")
}

// TestErrors: every bad URL is an *Error wrapping ErrInvalidURL that names
// the part that is wrong, and no error shows the password.
func TestErrors(t *testing.T) {
	const secret = "s3cret"
	for _, tc := range []struct {
		url, part, param, want string
		options                bool // Options rather than Open
	}{
		{url: "", part: "url", want: "is empty"},
		{url: "simple:// ", part: "url", want: "white space"},
		{url: "localhost:6379", part: "scheme", want: "missing"},
		{url: "redis//host", part: "scheme", want: "missing"},
		{url: "u:" + secret + "@redis://host", part: "scheme", want: "malformed"},
		{url: "mongodb://host", part: "scheme", want: `"mongodb" is unknown; want one of simple, null, file`},
		{url: "simple://#x", part: "url", want: "fragment"},
		{url: "simple://host", part: "host", want: "simple:// takes no host"},
		{url: "simple://u:" + secret + "@", part: "user", want: "takes no user"},
		{url: "simple:///dir", part: "path", want: "takes no path"},
		{url: "simple://?max_entries=x", part: "parameter", param: "max_entries", want: `want an integer, 0 (the default) or more, got "x"`},
		{url: "simple://?max_entries=-1", part: "parameter", param: "max_entries", want: `got "-1"`},
		{url: "simple://?threshold=10&max_entries=10", part: "parameter", param: "max_entries", want: "also as threshold"},
		{url: "simple://?max_bytes=64XB", part: "parameter", param: "max_bytes", want: "a size in bytes"},
		{url: "simple://?max_bytes=+5", part: "parameter", param: "max_bytes", want: "a size in bytes"},
		{url: "simple://?max_bytes=99999999999TiB", part: "parameter", param: "max_bytes", want: "a size in bytes"},
		{url: "simple://?sweep_interval=0", part: "parameter", param: "sweep_interval", want: "a positive duration, or -1"},
		{url: "simple://?sweep_interval=soon", part: "parameter", param: "sweep_interval", want: "as 500ms, 1m30s or 300"},
		{url: "simple://?shards=3", part: "options", want: "the backend refused them: simple: Shards is 3"},
		{url: "simple://?bogus=1", part: "parameter", param: "bogus", want: "unknown for simple://; want one of max_bytes, max_entries, shards, sweep_interval, threshold"},
		{url: "simple://?bogus=1", part: "parameter", param: "bogus", want: "default_timeout, key_prefix, max_bytes", options: true},
		{url: "simple://?max_entries=1&max_entries=2", part: "parameter", param: "max_entries", want: "more than once"},
		{url: "simple://?max_entries=", part: "parameter", param: "max_entries", want: "has no value"},
		{url: "simple://?=1", part: "query", want: "without a parameter name"},
		{url: "simple://?a=%zz", part: "query", want: "does not parse"},
		{url: "simple://?a=1;b=2", part: "query", want: "does not parse"},
		{url: "simple://?key_prefix=x", part: "parameter", param: "key_prefix", want: "an option of the Cache"},
		{url: "simple://?default_timeout=5", part: "parameter", param: "default_timeout", want: "cacheurl.Options"},
		{url: "simple://?default_timeout=-5", part: "parameter", param: "default_timeout", want: "a duration of 0 or more", options: true},
		{url: "simple://?default_timeout=99999999999999", part: "parameter", param: "default_timeout", want: "a duration", options: true},
		{url: "null://?max_entries=1", part: "parameter", param: "max_entries", want: "null:// takes no parameters"},
		{url: "null://h", part: "host", want: "takes no host"},
		{url: "simple://?near=1", part: "parameter", param: "near", want: "unknown for simple://"},
		{url: "memcached://h?near_max_stale=1s", part: "parameter", param: "near", want: "must be true (near=1)"},
		{url: "memcached://h?near=1&near_max_stale=0", part: "parameter", param: "near_max_stale", want: "a positive duration"},
		{url: "redis://h?near=yes", part: "parameter", param: "near", want: "want true, false, 1 or 0"},
		{url: "redis://h?near=1&near_max_entries=-1", part: "parameter", param: "near_max_entries", want: "an integer"},
		{url: "file://", part: "path", want: "missing; want the cache directory"},
		{url: "file://relative/dir", part: "host", want: "three slashes"},
		{url: "file:///dev/null/cache", part: "path", want: "cannot be used as the cache directory"},
		{url: "file:///tmp/x%zz", part: "path", want: "malformed %-escape"},
		{url: "file:///tmp/cacheurl?namespace=..", part: "options", want: "Namespace"},
		{url: "file:///tmp/cacheurl?file_mode=0800", part: "parameter", param: "file_mode", want: "octal"},
		{url: "file:///tmp/cacheurl?sync=yes", part: "parameter", param: "sync", want: `want true, false, 1 or 0, got "yes"`},
		{url: "file:///tmp/cacheurl?max_entries=-2", part: "parameter", param: "max_entries", want: "-1 (no bound)"},
		{url: "redis://", part: "host", want: "missing; want redis://host[:port]"},
		{url: "redis://h1:6379,h2:6379", part: "host", want: "takes one host"},
		{url: "redis://host:port", part: "host", want: "port must be a number"},
		{url: "redis://host:0", part: "host", want: "port must be a number"},
		{url: "redis://host:+1", part: "host", want: "port must be a number"},
		{url: "redis://::1:6379", part: "host", want: "in brackets"},
		{url: "redis://[::1", part: "host", want: "no closing"},
		{url: "redis://[::1]x", part: "host", want: "[address]:port"},
		{url: "redis://[nothing]:1", part: "host", want: "not an IPv6 address"},
		{url: "redis://h%20st", part: "host", want: "not a host name"},
		{url: "redis://:1", part: "host", want: "empty host name"},
		{url: "redis://u:" + secret + "@host/abc", part: "path", want: "database number"},
		{url: "redis://host/0/1", part: "path", want: "database number"},
		{url: "redis://u:" + secret + "@host?db=1", part: "parameter", param: "db", want: "unknown for redis://"},
		{url: "redis://host?dial_timeout=0", part: "parameter", param: "dial_timeout", want: "a positive duration"},
		{url: "redis://host?read_timeout=-1s", part: "parameter", param: "read_timeout", want: "a positive duration"},
		{url: "redis://host?max_retries=11", part: "parameter", param: "max_retries", want: "-1 (none)"},
		{url: "redis://host?protocol=4", part: "parameter", param: "protocol", want: "2 or 3"},
		{url: "redis://host?pool_size=-1", part: "parameter", param: "pool_size", want: "from 0 (the default) to 10000"},
		{url: "redis://host?skip_verify=true", part: "parameter", param: "skip_verify", want: "unknown for redis://"},
		{url: "redis://host?clear_flushes_db=maybe", part: "parameter", param: "clear_flushes_db", want: "want true"},
		{url: "redis://host?prefix=p&default_timeout=1", part: "parameter", param: "default_timeout", want: "an option of the Cache"},
		{url: "rediss://host?skip_verify=maybe", part: "parameter", param: "skip_verify", want: "want true"},
		{url: "redis://u:" + secret + "@", part: "host", want: "missing"},
		{url: "redis://u:%zz@host", part: "user", want: "malformed"},
		// A password pasted raw, with a '/' or '?', leaves its '@' after the
		// host: refused, and when the '@' could be a value's, errors about a
		// host or parameter do not say which.
		{url: "redis://u:" + secret + "/x@host:6379/0", part: "user", want: "'/' as %2F"},
		{url: "redis+cluster://u:" + secret + "?x@h1:1,h2:2", part: "user", want: "'?' as %3F"},
		{url: "redis://u:" + secret + "?x=y@host:6379/0", part: "url", want: "which is not shown"},
		{url: "redis+sentinel://h:1/m?password=p@" + secret + "&pool_size=x", part: "url", want: "which is not shown"},
		{url: "redis+cluster://", part: "host", want: "host[:port][,host[:port]...]"},
		{url: "redis+cluster://h:1,,h:2", part: "host", want: "empty host name"},
		{url: "redis+cluster://h:1/2", part: "path", want: "only database 0"},
		{url: "redis+cluster://h:1?db=0", part: "parameter", param: "db", want: "unknown"},
		{url: "redis+cluster://h:1?max_redirects=-1", part: "parameter", param: "max_redirects", want: "to 10"},
		{url: "rediss+cluster://h:1?skip_verify=true", part: "parameter", param: "skip_verify", want: "unknown"},
		{url: "redis+sentinel://h:26379", part: "path", want: "master's name"},
		{url: "redis+sentinel://h:26379/m/x", part: "path", want: "master's name"},
		{url: "redis+sentinel://h:26379/m?read_only=true", part: "parameter", param: "read_only", want: "unknown"},
		{url: "redis+sentinel://h/m?password=" + secret + "&replica_only=x", part: "parameter", param: "replica_only", want: "want true"},
		{url: "unix://host/redis.sock", part: "host", want: "takes no host"},
		{url: "unix://", part: "path", want: "socket's path"},
		{url: "unix:///redis.sock?db=x", part: "parameter", param: "db", want: "a database number"},
		{url: "memcached://", part: "host", want: "missing"},
		{url: "memcached://u:" + secret + "@h:11211", part: "user", want: "memcached:// takes no user"},
		{url: "memcached://h:11211/x", part: "path", want: "takes no path"},
		{url: "memcached://h:11211?max_item_size=10", part: "options", want: "MaxItemSize"},
		{url: "memcached://h:11211?timeout=-1s", part: "parameter", param: "timeout", want: "a positive duration"},
		{url: "memcached://h:11211?generation_ttl=-2s", part: "parameter", param: "generation_ttl", want: "or -1 (none)"},
		{url: "memcached://h:11211?namespace=a/b", part: "options", want: "Namespace"},
		{url: "memcached://h:11211?prefix=x", part: "parameter", param: "prefix", want: "unknown for memcached://; want one of flush_on_clear, generation_grace, generation_ttl"},
	} {
		name := tc.url
		if tc.options {
			name = "Options " + name
		}
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.options {
				var opts *caching.Options
				opts, err = cacheurl.Options(tc.url)
				assert.Nil(t, opts)
			} else {
				var b backend.Backend
				b, err = cacheurl.Open(tc.url)
				assert.Nil(t, b)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, cacheurl.ErrInvalidURL)
			var e *cacheurl.Error
			require.True(t, errors.As(err, &e), "%T", err)
			assert.Equal(t, tc.part, e.Part, "%v", err)
			assert.Equal(t, tc.param, e.Param, "%v", err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"simple://":                                    "simple://",
		"redis://u:s3cret@h:6379/0?prefix=p":           "redis://u:xxxxx@h:6379/0?prefix=p",
		"redis://:s3cret@h":                            "redis://:xxxxx@h",
		"redis://u@h":                                  "redis://u@h",
		"redis+sentinel://h:1/m?password=s3cret&x=1":   "redis+sentinel://h:1/m?password=xxxxx",
		"redis+sentinel://u:p@h/m?password=s3cret%3B;": "redis+sentinel://u:xxxxx@h/m?(malformed)",
		"u:s3cret@redis://h":                           "(malformed)",
		"redis://u:s3/cret@h:6379/0":                   "redis://(redacted)",
		"redis://u:s3?cret@h:6379/0":                   "redis://(redacted)",
		"redis://u:s3#cret@h:6379/0":                   "redis://(redacted)",
		"no scheme":                                    "(malformed)",
	} {
		assert.Equal(t, want, cacheurl.Redact(in), in)
	}
}
