package timing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-caching/caching/internal/ratelimit"
)

// slowLog logs requests over their route's threshold, through a token
// bucket so that a slow spike (the database stalls, every request is slow)
// logs a burst and a count instead of a storm.
type slowLog struct {
	logger    *slog.Logger
	threshold time.Duration
	routes    map[string]time.Duration

	limit *ratelimit.Limiter
}

func newSlowLog(o Options) (*slowLog, error) {
	switch {
	case o.Slow < 0:
		return nil, fmt.Errorf("%w: Slow %v is negative (want >= 0; 0 means %v)", ErrInvalidOption, o.Slow, DefaultSlow)
	case o.SlowLogInterval < 0:
		return nil, fmt.Errorf("%w: SlowLogInterval %v is negative (want >= 0; 0 means %v)", ErrInvalidOption, o.SlowLogInterval, DefaultSlowLogInterval)
	case o.SlowLogBurst < 0:
		return nil, fmt.Errorf("%w: SlowLogBurst %d is negative (want >= 0; 0 means %d)", ErrInvalidOption, o.SlowLogBurst, DefaultSlowLogBurst)
	}
	s := &slowLog{logger: o.Logger, threshold: o.Slow, routes: make(map[string]time.Duration, len(o.SlowRoutes))}
	if s.threshold == 0 {
		s.threshold = DefaultSlow
	}
	for route, d := range o.SlowRoutes {
		if d <= 0 {
			return nil, fmt.Errorf("%w: SlowRoutes[%q] is %v (want > 0; Never switches the route's log off)", ErrInvalidOption, route, d)
		}
		s.routes[route] = d
	}
	interval, burst := o.SlowLogInterval, o.SlowLogBurst
	if interval == 0 {
		interval = DefaultSlowLogInterval
	}
	if burst == 0 {
		burst = DefaultSlowLogBurst
	}
	s.limit = ratelimit.New(interval, burst)
	return s, nil
}

// log logs rep when it is slow and reports whether it was.
func (s *slowLog) log(ctx context.Context, rep *Report) bool {
	threshold := s.threshold
	if d, ok := s.routes[rep.Route]; ok && rep.Route != "" {
		threshold = d
	}
	if rep.Duration < threshold {
		return false
	}
	ok, suppressed := s.limit.Allow(time.Now())
	if !ok {
		return true
	}
	attrs := []slog.Attr{
		slog.String("method", logMethod(rep.Request.Method)),
		slog.String("route", rep.Route),
		slog.Int("status", rep.Status),
		slog.Int64("bytes", rep.Bytes),
		slog.Duration("duration", rep.Duration),
		slog.Duration("threshold", threshold),
	}
	if rep.Panicked {
		attrs = append(attrs, slog.Bool("panicked", true))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Int64("suppressed", suppressed))
	}
	s.logger.LogAttrs(ctx, slog.LevelWarn, "timing: slow request", attrs...)
	return true
}

// maxLogMethod bounds the method in the log: it is client data (a pattern
// without a method matches any token, up to the server's MaxHeaderBytes),
// and the longest registered methods are under 20 bytes.
const maxLogMethod = 32

// logMethod returns method cut to maxLogMethod bytes, marked with "..." when
// cut. A method is a token, so this cuts no character in two.
func logMethod(method string) string {
	if len(method) <= maxLogMethod {
		return method
	}
	return method[:maxLogMethod] + "..."
}
