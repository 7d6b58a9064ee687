package backendtest_test

import (
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/simple"
)

// A store proves that it keeps the contract of package backend with a test
// of its own that runs the suite, each subtest on a new, empty store. An
// Example has no *testing.T to give Run, so this one is compiled, not run:
// conformance is the body of that test, which in a _test.go file of the
// store's package reads
//
//	func TestConformance(t *testing.T) { ... }
//
// (backend/simple, the stand-in here, runs the suite in its own tests.)
// RunWith takes Options: Advance for a store with an injectable clock,
// TooLarge for one with a limit on a value's size.
func ExampleRun() {
	conformance := func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backend.Backend {
			s, err := simple.New(simple.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s // the suite closes it
		})
	}
	_ = conformance
}
