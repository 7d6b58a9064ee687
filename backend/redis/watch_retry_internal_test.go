package redisstore

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestWatchRetryBacksOffOnlyOnWhatARetryCannotFix: a watch the server
// refuses (NOPERM, a renamed or unknown command, a bad password: WRONGPASS,
// NOAUTH, a protocol it does not speak: NOPROTO, a syntax error) tries
// again after 5s,
// then 10s, 20s, 30s, instead of redialling about once a second for ever;
// a lost connection (a restart, a failover, a server not yet up) is still
// retried within a second, and at once after a session that lasted.
func TestWatchRetryBacksOffOnlyOnWhatARetryCannotFix(t *testing.T) {
	t.Parallel()
	// Not syscall.ECONNREFUSED, which Plan 9 lacks: the watch tells a
	// refused dial by its being no reply, as any failure at the
	// connection.
	dialRefused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	refused := []error{
		replyError("HELLO", "NOPERM User u has no permissions to run the 'hello' command"),
		replyError("CLIENT TRACKING", "NOPERM User u has no permissions to run the 'client|tracking' command"),
		replyError("HELLO", "ERR unknown command 'HELLO', with args beginning with: '3' "),
		replyError("CLIENT TRACKING", "ERR unknown subcommand 'TRACKING'. Try CLIENT HELP."),
		replyError("heartbeat", "NOPERM User u has no permissions to run the 'ping' command"),
		replyError("HELLO", "WRONGPASS invalid username-password pair or user is disabled."),
		replyError("HELLO", "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"),
		replyError("CLIENT TRACKING", "NOAUTH Authentication required."),
		replyError("HELLO", "NOPROTO unsupported protocol version"),
		replyError("HELLO", "ERR Syntax error in HELLO option 'setname'"),
		replyError("CLIENT TRACKING", "ERR syntax error"),
	}
	for _, err := range refused {
		t.Run("refused/"+err.Error(), func(t *testing.T) {
			var waits []time.Duration
			var d time.Duration
			for range 6 {
				d = retryDelay(d, err, time.Millisecond)
				waits = append(waits, d)
			}
			assert.Equal(t, []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}, waits)
		})
	}
	transient := []error{
		io.EOF,
		dialRefused,
		fmt.Errorf("wrapped: %w", dialRefused),
		replyError("HELLO", "LOADING Redis is loading the dataset in memory"),
		replyError("CLIENT TRACKING", "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SCRIPT KILL."),
		replyError("HELLO", "ERR max number of clients reached"),
		replyError("heartbeat", "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
		errNoMyID,
	}
	for _, err := range transient {
		t.Run("transient/"+err.Error(), func(t *testing.T) {
			var waits []time.Duration
			var d time.Duration
			for range 9 {
				d = retryDelay(d, err, time.Millisecond)
				waits = append(waits, d)
			}
			assert.Equal(t, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond,
				160 * time.Millisecond, 320 * time.Millisecond, 640 * time.Millisecond, time.Second, time.Second}, waits)
			assert.Equal(t, watchRetryMin, retryDelay(time.Second, err, 2*time.Second), "after a session that lasted")
			assert.Equal(t, time.Second, retryDelay(30*time.Second, err, time.Millisecond), "after refusals, a lost connection")
		})
	}
}
