package caching

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// The tests of this file run the lease across real processes: the test
// binary started again as a server (TestLeaseHelperProcess), several of
// them on one real Redis or memcached.

// leaseHelperEnv configures a helper process.
type leaseHelperEnv struct {
	Kind   string // "redis" or "memcached"
	Addr   string // the Redis address, or memcached's, comma-separated
	Prefix string
	Lease  time.Duration
	Work   time.Duration // how long the handler works
	Hang   bool          // the handler never returns: a holder that dies mid-work
}

// TestLeaseHelperProcess is not a test: it is the server the tests below
// start, in a process of its own, when CACHING_LEASE_HELPER is set. It
// serves GET /work/{id} (Cached with the lease, the handler counting its
// runs) and GET /stats, until its standard input closes.
func TestLeaseHelperProcess(t *testing.T) {
	raw := os.Getenv("CACHING_LEASE_HELPER")
	if raw == "" {
		t.Skip("a helper process of the lease tests")
	}
	var env leaseHelperEnv
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		fmt.Println("helper:", err)
		os.Exit(2)
	}
	var (
		b   backend.Backend
		err error
	)
	// Generous client timeouts, and Options.Timeout below: on a loaded
	// machine (the race detector, 200 requests at once) a call past the
	// defaults fails open and the handler runs without the lease, as it
	// must. These tests are about the lease, not about timeouts.
	if env.Kind == "redis" {
		b, err = redisstore.New(redisstore.Options{Prefix: env.Prefix,
			URL: "redis://" + env.Addr + "/0?dial_timeout=10s&read_timeout=10s&write_timeout=10s&pool_timeout=10s"})
	} else {
		b, err = memcached.New(memcached.Options{Servers: strings.Split(env.Addr, ","), Namespace: env.Prefix, Timeout: 10 * time.Second})
	}
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(2)
	}
	c := Must(&Options{Backend: b, Lease: env.Lease, Timeout: 10 * time.Second})
	var runs atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("GET /work/{id}", c.Cached(time.Hour, IgnoreHost())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		if env.Hang {
			select {} // until the process is killed
		}
		time.Sleep(env.Work)
		fmt.Fprintf(w, "work %s", r.PathValue("id"))
	})))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		s := c.Stats()
		_ = json.NewEncoder(w).Encode(leaseHelperStats{Runs: runs.Load(), Leases: s.Leases, Waits: s.LeaseWaits, Timeouts: s.LeaseTimeouts, Errors: s.Errors})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(2)
	}
	go func() { _ = http.Serve(l, mux) }()
	fmt.Printf("listening on %s\n", l.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

type leaseHelperStats struct {
	Runs, Leases, Waits, Timeouts, Errors int64
}

// leaseHelper is a running helper process.
type leaseHelper struct {
	addr string
	cmd  *exec.Cmd
}

func startLeaseHelper(t *testing.T, env leaseHelperEnv) *leaseHelper {
	t.Helper()
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeaseHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CACHING_LEASE_HELPER="+string(raw))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &leaseHelper{addr: addr, cmd: cmd}
		}
	}
	t.Fatalf("the helper process exited before listening")
	return nil
}

var leaseClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}, Timeout: time.Minute}

func (h *leaseHelper) stats(t *testing.T) leaseHelperStats {
	t.Helper()
	resp, err := leaseClient.Get("http://" + h.addr + "/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var s leaseHelperStats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

// waitFor polls h's stats until ok holds (another process's state can only
// be polled), failing after a minute.
func (h *leaseHelper) waitFor(t *testing.T, what string, ok func(leaseHelperStats) bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if ok(h.stats(t)) {
			return
		}
	}
	t.Fatalf("helper %s: %s never happened", h.addr, what)
}

// leaseResult is one request's answer, and when it came.
type leaseResult struct {
	status int
	body   string
	err    error
	sent   time.Time
	done   time.Time
}

// fire sends n concurrent GETs of path to each helper once start is closed,
// and returns a function that waits for their results.
func fire(helpers []*leaseHelper, path string, n int, start <-chan struct{}) func() []leaseResult {
	out := make([]leaseResult, len(helpers)*n)
	var wg sync.WaitGroup
	for i, h := range helpers {
		for j := range n {
			wg.Go(func() {
				<-start
				r := &out[i*n+j]
				r.sent = time.Now()
				resp, err := leaseClient.Get("http://" + h.addr + path)
				if err != nil {
					r.err = err
				} else {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					r.status, r.body = resp.StatusCode, string(b)
				}
				r.done = time.Now()
			})
		}
	}
	return func() []leaseResult { wg.Wait(); return out }
}

// leaseBackends are the real servers the process tests run on.
func leaseBackends(t *testing.T, fn func(t *testing.T, env leaseHelperEnv)) {
	prefix := fmt.Sprintf("lease-%d-", time.Now().UnixNano())
	t.Run("redis", func(t *testing.T) {
		fn(t, leaseHelperEnv{Kind: "redis", Addr: testutil.RedisAddr(t), Prefix: "caching-test:" + prefix})
	})
	t.Run("memcached", func(t *testing.T) {
		fn(t, leaseHelperEnv{Kind: "memcached", Addr: strings.Join(testutil.MemcachedAddrs(t), ","), Prefix: prefix + "m"})
	})
}

// TestLeaseColdKeyAcrossProcesses: a cold key hit by 4 processes x 50
// concurrent requests runs the handler exactly once.
func TestLeaseColdKeyAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	leaseBackends(t, func(t *testing.T, env leaseHelperEnv) {
		env.Lease, env.Work = 10*time.Second, 300*time.Millisecond
		helpers := make([]*leaseHelper, 4)
		for i := range helpers {
			helpers[i] = startLeaseHelper(t, env)
		}
		start := make(chan struct{})
		wait := fire(helpers, "/work/cold", 50, start)
		close(start)
		for _, r := range wait() {
			require.NoError(t, r.err)
			assert.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "work cold", r.body)
		}
		var runs, leases, waits, timeouts, errs int64
		for _, h := range helpers {
			s := h.stats(t)
			runs, leases, waits, timeouts, errs = runs+s.Runs, leases+s.Leases, waits+s.Waits, timeouts+s.Timeouts, errs+s.Errors
		}
		assert.Equal(t, int64(1), runs, "200 requests in 4 processes, one handler run (%d backend errors)", errs)
		// A flight whose leader comes after the holder released the lease
		// takes it again and finds the entry at once (no run): on a loaded
		// machine a process's first flight may be one (its requests'
		// lookups missed before the entry was stored), and a process may
		// start a second flight of requests whose lookups missed but that
		// arrived after its first flight ended (CI saw 6 leases for 4
		// processes). What must hold is the one run above; the leases stay
		// few.
		assert.GreaterOrEqual(t, leases, int64(1))
		assert.LessOrEqual(t, leases, int64(2*len(helpers)), "two leases per process, at most")
		assert.LessOrEqual(t, waits, int64(3), "one waiter per process, at most")
		assert.Zero(t, timeouts)
	})
}

// TestLeaseHolderKilledMidWork: a process killed while it holds the lease
// delays the others by at most the lease time; then they run the handler
// themselves, once per process at most.
func TestLeaseHolderKilledMidWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	leaseBackends(t, func(t *testing.T, env leaseHelperEnv) {
		const lease = 2 * time.Second
		env.Lease, env.Work = lease, 10*time.Millisecond
		hang := env
		hang.Hang = true
		holder := startLeaseHelper(t, hang)
		others := []*leaseHelper{startLeaseHelper(t, env), startLeaseHelper(t, env)}

		started := make(chan struct{})
		close(started)
		held := fire([]*leaseHelper{holder}, "/work/killed", 1, started)
		holder.waitFor(t, "the holder's run", func(s leaseHelperStats) bool { return s.Runs == 1 })
		wait := fire(others, "/work/killed", 20, started)
		for _, h := range others {
			h.waitFor(t, "a lease wait", func(s leaseHelperStats) bool { return s.Waits == 1 })
			assert.Zero(t, h.stats(t).Runs, "the others wait for the holder")
		}
		require.NoError(t, holder.cmd.Process.Kill())
		killed := time.Now()
		assert.Error(t, held()[0].err, "the holder died mid-response")

		for _, r := range wait() {
			require.NoError(t, r.err)
			assert.Equal(t, "work killed", r.body)
			assert.True(t, r.done.After(killed), "answered after the holder died, not before")
			// An upper bound only, generous: the lease, and time to spare
			// for a loaded machine.
			assert.Less(t, r.done.Sub(r.sent), lease+10*time.Second)
		}
		var runs int64
		for _, h := range others {
			runs += h.stats(t).Runs
		}
		assert.GreaterOrEqual(t, runs, int64(1))
		assert.LessOrEqual(t, runs, int64(2), "once per process at most, not once per request")
	})
}
