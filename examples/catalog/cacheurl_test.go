package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenCacheURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url, want, err string
	}{
		{url: "", want: "in-process (simple)"},
		{url: "simple://", want: "in-process (simple)"},
		{url: "null://", want: "null (caching off)"},
		{url: "redis://127.0.0.1:1/0", want: "redis (redis://127.0.0.1:1)"}, // dials nothing until used
		{url: "redis+cluster://127.0.0.1:1,127.0.0.1:2", want: "redis (redis+cluster://127.0.0.1:1,127.0.0.1:2)"},
		{url: "file://", err: "file:// needs a directory"},
		{url: "file://" + dir, want: "filesystem (" + dir + ")"},
		{url: "memcached://127.0.0.1:1,127.0.0.1:2", want: "memcached (127.0.0.1:1,127.0.0.1:2)"},
		{url: "memcached://", err: "needs host:port"},
		{url: "mongodb://x", err: `unknown scheme "mongodb"`},
		{url: "redis://127.0.0.1:6379/notadb", err: "CACHE_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			b, err := openCacheURL(tc.url, "catalog-test")
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			defer b.Close()
			assert.Equal(t, tc.want, b.desc)
		})
	}
}
