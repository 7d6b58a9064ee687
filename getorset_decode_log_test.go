package caching

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGetOrSetDecodeLogHasNoValue: the decode error GetOrSet logs when it
// loads over a value that does not decode carried the codec's text, which
// quotes the stored data (encoding/json: "number 7777777"; strconv:
// parsing "7777777"; time: parsing time "\"4111...\""), and cached values
// may be personal data. Now the log names the type and says the stored
// value does not decode; GetAs's own error, the caller's value, keeps the
// codec's text.
func TestGetOrSetDecodeLogHasNoValue(t *testing.T) {
	cases := []struct {
		name, secret string
		store        func(ctx context.Context, c *Cache) error
		getOrSet     func(ctx context.Context, c *Cache) error
	}{
		{"number", "7777777",
			func(ctx context.Context, c *Cache) error { return SetAs(ctx, c, "k", 7777777, time.Minute) },
			func(ctx context.Context, c *Cache) error {
				_, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (int8, error) { return 1, nil })
				return err
			}},
		{"string", "4111-1111",
			func(ctx context.Context, c *Cache) error { return SetAs(ctx, c, "k", "4111-1111", time.Minute) },
			func(ctx context.Context, c *Cache) error {
				_, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (time.Time, error) { return time.Time{}, nil })
				return err
			}},
	}
	for _, b := range undecodableBackends[:3] { // simple, filesystem, miniredis
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				ctx := t.Context()
				logs := &recordHandler{}
				c, err := New(&Options{Backend: b.open(t), Logger: slog.New(logs)})
				require.NoError(t, err)
				t.Cleanup(func() { _ = c.Close() })
				require.NoError(t, tc.store(ctx, c))
				require.NoError(t, tc.getOrSet(ctx, c))
				logs.mu.Lock()
				defer logs.mu.Unlock()
				require.Len(t, logs.records, 1, "the decode error, logged")
				var text strings.Builder
				logs.records[0].Attrs(func(a slog.Attr) bool {
					text.WriteString(a.String() + " ")
					return true
				})
				require.Contains(t, text.String(), "does not decode")
				require.NotContains(t, text.String(), tc.secret, "the stored value in the log")
			})
		}
	}
}
