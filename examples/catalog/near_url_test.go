package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func nearService(t *testing.T, cacheURL string, near bool) (*Service, error) {
	t.Helper()
	svc, err := NewService(context.Background(), Config{
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: 10, CacheURL: cacheURL, Near: near,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err == nil {
		t.Cleanup(func() { require.NoError(t, svc.Close()) })
	}
	return svc, err
}

// CACHE_NEAR=1 rewrote CACHE_URL with net/url to add near=1: net/url's
// errors quote the whole URL, so the password of a URL cacheurl reports
// without it reached the start-up error, and the logs.
func TestNearURLErrorHidesPassword(t *testing.T) {
	for _, raw := range []string{
		"redis+cluster://:hunter2@127.0.0.1:6379,localhost:6379%zz", // bad host
		"redis://:hunter2%zz@127.0.0.1:6379/0",                      // bad escape in the password
	} {
		_, err := nearService(t, raw, true)
		require.Error(t, err, raw)
		assert.NotContains(t, err.Error(), "hunter2", "the start-up error shows the password")
	}
}

// A host list in which a host has no port (cacheurl gives it the default)
// opened without CACHE_NEAR and was refused with it ("invalid port"): net/url
// reads no host lists.
func TestNearURLHostList(t *testing.T) {
	for _, raw := range []string{
		"memcached://127.0.0.1:11211,localhost",
		"redis+cluster://:hunter2@127.0.0.1:6379,localhost",
	} {
		for _, near := range []bool{false, true} {
			_, err := nearService(t, raw, near)
			require.NoError(t, err, "%s near=%v", raw, near)
		}
	}
}

// CACHE_NEAR=1 with near=1 in the URL, or with a store in process memory.
func TestNearURLNearTwiceOrInMemory(t *testing.T) {
	_, err := nearService(t, "memcached://127.0.0.1:11211?near=1", true)
	require.NoError(t, err, "near=1 and CACHE_NEAR=1 agree")
	_, err = nearService(t, "simple://", true)
	require.ErrorContains(t, err, "CACHE_NEAR=1")
}
