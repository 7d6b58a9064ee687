package main

// cacheurl.go: CACHE_URL picks the backend, so that the same binary runs on
// one machine (simple://, file://) or many (redis://, memcached://) by
// configuration alone.

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/null"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
)

// cacheBackend is a backend opened from a CACHE_URL, with a description for
// the start-up log.
type cacheBackend struct {
	backend.Backend
	desc string
}

// openCacheURL opens the backend rawURL names:
//
//	simple://                      in-process store (the default, also for "")
//	null://                        stores nothing: caching off
//	file:///var/cache/catalog      one file per entry under that directory
//	redis://host:port/db           one Redis server
//	redis+cluster://h1:p1,h2:p2    a Redis Cluster, from its seed nodes
//	redis+sentinel://h1:p1/master  a Sentinel-managed Redis
//	memcached://h1:p1,h2:p2        a memcached server list
//
// namespace (letters, digits, '.', '_', '-') keeps this service's keys apart
// from others' on a shared server or directory: the Redis key prefix, the
// memcached and filesystem namespace. Clear deletes only it.
func openCacheURL(rawURL, namespace string) (*cacheBackend, error) {
	if rawURL == "" {
		rawURL = "simple://"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("CACHE_URL: %w", err)
	}
	hosts := func() ([]string, error) {
		if u.Host == "" {
			return nil, fmt.Errorf("CACHE_URL: %s:// needs host:port[,host:port...]", u.Scheme)
		}
		return strings.Split(u.Host, ","), nil
	}
	switch u.Scheme {
	case "simple":
		b, err := simple.New(simple.Options{})
		if err != nil {
			return nil, fmt.Errorf("CACHE_URL: %w", err)
		}
		return &cacheBackend{b, "in-process (simple)"}, nil
	case "null":
		return &cacheBackend{null.New(), "null (caching off)"}, nil
	case "file":
		if u.Path == "" {
			return nil, fmt.Errorf("CACHE_URL: file:// needs a directory, as in file:///var/cache/catalog")
		}
		b, err := filesystem.New(filesystem.Options{Dir: u.Path, Namespace: namespace})
		if err != nil {
			return nil, fmt.Errorf("CACHE_URL: %w", err)
		}
		return &cacheBackend{b, "filesystem (" + u.Path + ")"}, nil
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		// The Redis backend reads every form of the URL itself, and builds a
		// client that fails fast (500 ms timeouts) when Redis is down.
		b, err := redisstore.New(redisstore.Options{URL: rawURL, Prefix: namespace + ":"})
		if err != nil {
			return nil, fmt.Errorf("CACHE_URL: %w", err)
		}
		return &cacheBackend{b, "redis (" + u.Scheme + "://" + u.Host + ")"}, nil
	case "memcached":
		h, err := hosts()
		if err != nil {
			return nil, err
		}
		b, err := memcached.New(memcached.Options{Servers: h, Namespace: namespace})
		if err != nil {
			return nil, fmt.Errorf("CACHE_URL: %w", err)
		}
		return &cacheBackend{b, "memcached (" + u.Host + ")"}, nil
	}
	return nil, fmt.Errorf("CACHE_URL: unknown scheme %q (want simple, null, file, redis, redis+cluster or memcached)", u.Scheme)
}
