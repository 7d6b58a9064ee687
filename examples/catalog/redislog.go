package main

import (
	"context"
	"fmt"
	"log/slog"
)

// redisLog routes go-redis's own log lines (a failed dial, a bad
// connection dropped from its pool, a Sentinel's change of master) to the
// service's log through a failureLog. go-redis writes them to stderr
// through one process-wide logger, a line per event: while Redis is down,
// a line per dial its pools attempt, outside the service's log and its
// bound. They are problems of the client, not requests that failed: a
// quiet failureLog at WARN, the first line whole, then at most one
// summary per interval.
type redisLog struct{ f *failureLog }

// newRedisLog returns go-redis's logger for log (redis.SetLogger).
func newRedisLog(log *slog.Logger) redisLog {
	return redisLog{newQuietFailureLog(log, slog.LevelWarn, "catalog: redis client")}
}

// Printf implements go-redis's logging interface.
func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	l.f.failed(ctx, fmt.Errorf(format, v...))
}
