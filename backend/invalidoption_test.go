package backend_test

import (
	"errors"
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/backend/simple"
)

// TestInvalidOptionOneName: every backend's constructor reports invalid
// options with one error, backend.ErrInvalidOption (issue 18: there were
// four names across the module).
func TestInvalidOptionOneName(t *testing.T) {
	for name, open := range map[string]func() error{
		"simple":     func() error { _, err := simple.New(simple.Options{MaxEntries: -1}); return err },
		"filesystem": func() error { _, err := filesystem.New(filesystem.Options{}); return err },
		"memcached":  func() error { _, err := memcached.New(memcached.Options{}); return err },
		"redis":      func() error { _, err := redisstore.New(redisstore.Options{}); return err },
	} {
		if err := open(); !errors.Is(err, backend.ErrInvalidOption) {
			t.Errorf("%s: %v does not wrap backend.ErrInvalidOption", name, err)
		}
	}
}
