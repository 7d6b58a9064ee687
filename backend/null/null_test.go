package null_test

import (
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/null"
)

func TestConformance(t *testing.T) {
	backendtest.RunWith(t, func(t *testing.T) backend.Backend { return null.New() },
		backendtest.Options{Discards: true})
}
