//go:build tools

// Package tools pins dependencies that packages of this module import only
// in files written after the module was created; it is never built.
package tools

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/andybalholm/brotli"
	_ "github.com/bradfitz/gomemcache/memcache"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/stretchr/testify/require"
)
