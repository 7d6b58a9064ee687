package memcached

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression: gomemcache's incr and decr slice the reply line before
// checking its length: a line shorter than its "\r\n" ("\n" alone), or a
// "CLIENT_ERROR " line with nothing after it but '\n', panicked, in the
// caller's goroutine, crashing a program over a broken (or hostile)
// server's or proxy's reply. Incr, its undo and Clear now fail with an
// error for it, and the connection that read it is not used again.
func TestIncrOfAShortReplyLineFails(t *testing.T) {
	for name, line := range map[string]string{"a bare newline": "\n", "CLIENT_ERROR and a newline": "CLIENT_ERROR \n"} {
		t.Run(name, func(t *testing.T) {
			var counter atomic.Int64
			addr := lateServer(t, func(f []string) (reply, late string) {
				if len(f) == 3 && f[0] == "incr" && strings.HasSuffix(f[1], ":broken") {
					return line + "1\r\n", "" // the rest, out of step
				}
				return counterReply(&counter, f), ""
			})
			s, _ := fakeStore(t, addr)
			ctx := context.Background()
			noPanic := func(what string, f func() error) {
				t.Helper()
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s panicked: %v", what, r)
					}
				}()
				assert.Error(t, f(), what)
			}
			noPanic("Incr", func() error { _, err := s.Incr(ctx, "broken", 1); return err })
			noPanic("Clear", func() error {
				s.genKey = s.mustKey(t, "broken") // Clear increments the generation
				return s.Clear(ctx)
			})
			for i := range 3 {
				v, err := s.Incr(ctx, "c", 1)
				require.NoError(t, err, "incr %d after the short line", i)
				assert.Equal(t, int64(i+1), v, "incr %d after the short line: another reply read as its", i)
			}
		})
	}
}

// Regression: gomemcache parsed such a line and panicked; the Store
// recovered, but gomemcache, unwinding, had put the connection back in its
// pool with the rest of the broken reply unread, where another goroutine
// could take it before the Store closed the idle connections, and read
// that rest as its reply. The connection's framing (replyFrame) now fails
// a line that does not end in "\r\n" before gomemcache reads it: the call
// fails with errBadReply, gomemcache closes that connection itself, and a
// read on it fails again should anything take it.
func TestIncrOfAShortReplyLineNeverReachesGomemcache(t *testing.T) {
	for name, line := range map[string]string{"a bare newline": "\n", "CLIENT_ERROR and a newline": "CLIENT_ERROR \n"} {
		t.Run(name, func(t *testing.T) {
			var counter atomic.Int64
			addr := lateServer(t, func(f []string) (reply, late string) {
				if len(f) == 3 && (f[0] == "incr" || f[0] == "decr") && strings.HasSuffix(f[1], ":broken") {
					return line + "1\r\n", ""
				}
				return counterReply(&counter, f), ""
			})
			s, dials := fakeStore(t, addr)
			ctx := context.Background()
			for _, delta := range []int64{1, -1} {
				_, err := s.Incr(ctx, "broken", delta)
				assert.ErrorIs(t, err, errBadReply, "Incr by %d", delta)
				assert.NotErrorIs(t, err, errBrokenCounterReply, "Incr by %d: gomemcache read the line", delta)
			}
			assert.Equal(t, int64(2), dials(), "a connection each, closed by gomemcache")
		})
	}
}
