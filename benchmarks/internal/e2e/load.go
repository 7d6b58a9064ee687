package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions configures Load. Zero fields take their defaults.
type LoadOptions struct {
	// Targets are the servers (host:port): connection i goes to
	// Targets[i%len(Targets)]. At least one.
	Targets []string
	// Path is the request target. Default Path.
	Path string
	// Conns is the number of keep-alive connections, each sending its next
	// request when the last response has been read (a closed loop). A
	// server that closes a connection after a response gets a new one.
	// Default 32.
	Conns int
	// Warmup is how long the connections send requests before the
	// measurement starts: the servers fill their caches, start their
	// workers and warm up. Default 1s; negative: none.
	Warmup time.Duration
	// Duration is how long the measurement lasts. Default 5s.
	Duration time.Duration
	// PerConn, when positive, stops each connection after it has had this
	// many measured responses (for tests, which count rather than time);
	// Duration still bounds the run.
	PerConn int
	// BodySize is the body length every response must have. Default
	// len(Page).
	BodySize int
}

func (o LoadOptions) withDefaults() (LoadOptions, error) {
	if len(o.Targets) == 0 {
		return o, errors.New("e2e: LoadOptions.Targets is empty")
	}
	if o.Path == "" {
		o.Path = Path
	}
	if o.Conns == 0 {
		o.Conns = 32
	}
	if o.Warmup == 0 {
		o.Warmup = time.Second
	}
	o.Warmup = max(o.Warmup, 0)
	if o.Duration == 0 {
		o.Duration = 5 * time.Second
	}
	if o.BodySize == 0 {
		o.BodySize = len(Page)
	}
	if o.Conns < 0 || o.Duration < 0 || o.PerConn < 0 {
		return o, fmt.Errorf("e2e: Conns %d, Duration %v, PerConn %d; none may be negative", o.Conns, o.Duration, o.PerConn)
	}
	return o, nil
}

// check says what is wrong with a response that is not the page.
func (o LoadOptions) check(resp response) error {
	if resp.status != 200 || resp.length != int64(o.BodySize) {
		return fmt.Errorf("status %d with %d bytes; want 200 with %d", resp.status, resp.length, o.BodySize)
	}
	return nil
}

// Result is what Load measured. Only requests that started after the
// warm-up and ended within the measurement count.
type Result struct {
	// Requests is the number of measured responses (all of them 200 with
	// the page's length).
	Requests int64
	// NotHits is how many of them did not say StatusHeader: HIT.
	NotHits int64
	// Dials is the number of connections opened, warm-up included.
	Dials int64
	// Elapsed is the length of the measurement.
	Elapsed time.Duration
	// Latency holds the time from writing each measured request to reading
	// the end of its response (and, where the server closed the last
	// connection, opening a new one).
	Latency Histogram
}

// RPS returns the measured responses per second.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Load sends GET requests to the targets over opts.Conns connections for
// opts.Warmup plus opts.Duration and measures the responses of the second
// part. Any failed request (a connection refused or reset, a status other
// than 200, a body of another length) ends the run with an error: a
// benchmark of a broken server means nothing. Cancelling ctx ends it too.
func Load(ctx context.Context, opts LoadOptions) (*Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	from := start.Add(opts.Warmup)
	to := from.Add(opts.Duration)
	var stop atomic.Bool
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()

	results := make([]*connResult, opts.Conns)
	var wg sync.WaitGroup
	for i := range results {
		r := &connResult{}
		results[i] = r
		wg.Go(func() {
			r.run(opts.Targets[i%len(opts.Targets)], opts, from, to, &stop)
			if r.err != nil {
				stop.Store(true) // one failure ends the run
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Elapsed: opts.Duration}
	var last time.Time
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		res.Requests += r.requests
		res.NotHits += r.notHits
		res.Dials += r.dials
		res.Latency.Merge(&r.latency)
		if r.last.After(last) {
			last = r.last
		}
	}
	if opts.PerConn > 0 {
		res.Elapsed = last.Sub(from)
	}
	return res, nil
}

// connResult is one connection's share of a Result.
type connResult struct {
	requests, notHits, dials int64
	latency                  Histogram
	last                     time.Time // end of the last measured response
	err                      error
}

func (r *connResult) run(target string, opts LoadOptions, from, to time.Time, stop *atomic.Bool) {
	var c *conn
	defer func() {
		if c != nil {
			_ = c.Close()
		}
	}()
	for !stop.Load() {
		t0 := time.Now()
		if !t0.Before(to) {
			return
		}
		if c == nil {
			var err error
			if c, err = dial(target, opts.Path); err != nil {
				r.err = fmt.Errorf("e2e: %s: %w", target, err)
				return
			}
			r.dials++
			// A bound on a server that stops answering: the run ends anyway.
			_ = c.c.SetDeadline(to.Add(10 * time.Second))
		}
		resp, err := c.roundTrip()
		t1 := time.Now()
		if err == nil {
			err = opts.check(resp)
		}
		if err != nil {
			r.err = fmt.Errorf("e2e: %s: %w", target, err)
			return
		}
		if resp.close {
			_ = c.Close()
			c = nil
		}
		if t0.Before(from) || t1.After(to) {
			continue
		}
		r.requests++
		if !resp.hit {
			r.notHits++
		}
		r.latency.Record(t1.Sub(t0))
		r.last = t1
		if opts.PerConn > 0 && r.requests >= int64(opts.PerConn) {
			return
		}
	}
}
