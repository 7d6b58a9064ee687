package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// BenchOptions configures Bench. Zero fields take their defaults.
type BenchOptions struct {
	// Contenders are measured in this order in the first round, and in the
	// order rotated by one more place in each next round, so that a burst
	// of load from elsewhere does not always land on the same one. It must
	// hold Reference.
	Contenders []Contender
	// Env is what their commands need.
	Env Env
	// Load configures the load generator; Targets are filled in.
	Load LoadOptions
	// Rounds is the number of rounds. Default 5.
	Rounds int
	// Procs is the number of server processes of each contender started
	// side by side behind the load generator. Default 1.
	Procs int
	// StartTimeout bounds how long a server may take to listen. Default 20s.
	StartTimeout time.Duration
	// Log, when not nil, receives a line per measurement.
	Log io.Writer
}

// Run is one contender's measurement in one round.
type Run struct {
	Round     int
	Contender string
	*Result
}

// Bench measures every contender in opts.Rounds rounds: in each, it starts
// each contender's servers in turn, sends each one request (which fills its
// cache), runs Load against them, stops them and removes what they left in
// Redis. A contender whose servers answered anything but hits after the
// warm-up (beyond one miss per thread of a PerWorker contender) fails the
// run. On an error it returns the runs done so far.
func Bench(ctx context.Context, opts BenchOptions) ([]Run, error) {
	if opts.Rounds == 0 {
		opts.Rounds = 5
	}
	if opts.Procs == 0 {
		opts.Procs = 1
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 20 * time.Second
	}
	if !hasReference(opts.Contenders) {
		return nil, fmt.Errorf("e2e: the contenders do not include the reference, %s", Reference)
	}
	var runs []Run
	n := len(opts.Contenders)
	for round := 1; round <= opts.Rounds; round++ {
		for i := range n {
			c := opts.Contenders[(i+round-1)%n]
			res, err := measure(ctx, c, opts)
			if err != nil {
				return runs, fmt.Errorf("round %d, %s: %w", round, c.Name, err)
			}
			runs = append(runs, Run{round, c.Name, res})
			if opts.Log != nil {
				fmt.Fprintf(opts.Log, "round %d %-18s %9.0f req/s  p50 %-9v p99 %-9v (%d requests, %d connections opened)\n",
					round, c.Name, res.RPS(), res.Latency.Quantile(0.5), res.Latency.Quantile(0.99), res.Requests, res.Dials)
			}
		}
	}
	return runs, nil
}

func hasReference(cs []Contender) bool {
	for _, c := range cs {
		if c.Name == Reference {
			return true
		}
	}
	return false
}

// prime sends one request to a server, so that its cache holds the page
// before the load starts, and checks the response.
func prime(addr string, opts LoadOptions) error {
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	c, err := dial(addr, opts.Path)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.c.SetDeadline(time.Now().Add(time.Minute))
	resp, err := c.roundTrip()
	if err != nil {
		return err
	}
	return opts.check(resp)
}

// measure starts opts.Procs servers of c, loads them and stops them.
func measure(ctx context.Context, c Contender, opts BenchOptions) (res *Result, err error) {
	var procs []*Process
	defer func() {
		for _, p := range procs {
			err = errors.Join(err, p.Stop())
		}
		if c.Redis {
			err = errors.Join(err, ClearPrefix(context.WithoutCancel(ctx), opts.Env.redisURL(), opts.Env.Prefix))
		}
		if err != nil {
			res = nil
		}
	}()
	load := opts.Load
	load.Targets = nil
	for range opts.Procs {
		cmd, err := c.Command(opts.Env)
		if err != nil {
			return nil, err
		}
		p, err := Start(cmd, opts.StartTimeout)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		load.Targets = append(load.Targets, p.Addr)
		if err := prime(p.Addr, load); err != nil {
			return nil, err
		}
	}
	res, err = Load(ctx, load)
	if err != nil {
		return nil, err
	}
	allowed := int64(0)
	if c.PerWorker {
		allowed = int64(opts.Procs * opts.Env.workers() * opts.Env.threads())
	}
	if res.NotHits > allowed {
		return nil, fmt.Errorf("e2e: %d of %d measured responses were not hits (a warm-up too short?)", res.NotHits, res.Requests)
	}
	return res, nil
}
