package near_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// refusedAtOnce is a remote store whose watch's first attempt is refused
// before WatchInvalidations returns: the watch's goroutine got the
// server's answer before New stored the watch's Err.
type refusedAtOnce struct{ *simple.Store }

// refusedWatch is the Closer of refusedAtOnce's watch.
type refusedWatch struct{}

func (refusedWatch) Close() error { return nil }
func (refusedWatch) Err() error {
	return fmt.Errorf("NOPERM no permissions to run 'client|tracking': %w", near.ErrWatchRefused)
}

func (refusedAtOnce) WatchInvalidations(_ func([]string), state func(bool)) (io.Closer, error) {
	state(false) // the first attempt's refusal: the Store cannot read Err yet
	return refusedWatch{}, nil
}

// TestWatchRefusalBeforeNewReturnsIsLoggedAtOnce: a refusal the watch
// reported before New had stored its Err was logged only at the next
// attempt, 5s later on Redis (or never, for a watch that does not report
// again): New now logs the watch's error it finds once it has stored Err.
func TestWatchRefusalBeforeNewReturnsIsLoggedAtOnce(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	n, err := near.New(refusedAtOnce{simple.Must(simple.Options{})}, near.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	lines := logs.lines()
	require.Len(t, lines, 1, "the refusal is logged as New returns: %q", lines)
	assert.Contains(t, lines[0], "level=WARN")
	assert.Contains(t, lines[0], "refuses the watch")
	assert.Contains(t, lines[0], "refused=true")
}
