package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeTakenPort: with its port taken, the catalog logged "listening"
// and then failed with "address already in use". The port is now bound
// first: one error, and nothing else is done.
func TestServeTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var logs strings.Builder
	dbPath := filepath.Join(t.TempDir(), "catalog.db")
	err = serve(context.Background(), ln.Addr().String(), Config{
		SQLitePath: dbPath, Seed: 10, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Contains(t, err.Error(), ln.Addr().String())
	assert.NotContains(t, logs.String(), "listening")
	_, err = os.Stat(dbPath)
	assert.ErrorIs(t, err, os.ErrNotExist, "the database was opened before the port")
}

// logWatch is a log destination that hands over the URL of the
// "listening" record.
type logWatch struct {
	mu  sync.Mutex
	url chan string
}

var listeningURL = regexp.MustCompile(`msg="catalog: listening" url=(\S+)`)

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := listeningURL.FindSubmatch(p); m != nil {
		w.url <- string(m[1])
	}
	return len(p), nil
}

// TestServeLogsOnceListening: once "listening" is logged, the logged URL
// answers.
func TestServeLogsOnceListening(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := &logWatch{url: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, "127.0.0.1:0", Config{
			SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: 10,
			Logger: slog.New(slog.NewTextHandler(watch, nil)),
		})
	}()
	var url string
	select {
	case url = <-watch.url:
	case err := <-done:
		t.Fatalf("serve returned before listening: %v", err)
	}
	require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), url)
	resp, err := http.Get(url)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
}

// TestNewServiceBadCacheURL: a bad CACHE_URL is one error naming the
// setting and the part of the URL that is wrong.
func TestNewServiceBadCacheURL(t *testing.T) {
	_, err := NewService(context.Background(), Config{
		SQLitePath: filepath.Join(t.TempDir(), "catalog.db"), Seed: 10, CacheURL: "memcached://127.0.0.1:11211?max_entries=10",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.ErrorIs(t, err, cacheurl.ErrInvalidURL)
	// The list of valid parameters grows with the backends' options.
	assert.True(t, strings.HasPrefix(err.Error(), "CACHE_URL: cacheurl: parameter max_entries: is unknown for memcached://; want one of "), err.Error())
	assert.Contains(t, err.Error(), "namespace")
}
