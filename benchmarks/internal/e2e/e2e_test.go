package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/internal/testutil"
)

// The test binary is also the server of ours the tests start: with
// E2E_SERVE=1 it runs ServeMain on its arguments after "serve".
func TestMain(m *testing.M) {
	if os.Getenv("E2E_SERVE") == "1" {
		os.Exit(ServeMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// testEnv is the Env of a test: this binary as the server, one gunicorn
// worker (so that the second request reaches the cache the first filled),
// a Redis prefix of the test's own.
func testEnv(t *testing.T, c Contender) Env {
	env := Env{
		Self:    []string{os.Args[0], "serve"},
		SelfEnv: []string{"E2E_SERVE=1"},
		Prefix:  "caching-e2e-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
		Dir:     t.TempDir(),
		Workers: 1,
	}
	if c.Redis {
		env.Redis = "redis://" + testutil.RedisAddr(t) + "/0"
	}
	if c.Available != nil {
		if err := c.Available(env); err != nil {
			// Not a failure in CI either: the Flask contenders are the
			// benchmark's peers, installed by benchmarks/e2e.sh, not by CI.
			t.Skipf("%s cannot run here: %v", c.Name, err)
		}
	}
	return env
}

// TestServersAnswerHit starts each contender's server as the benchmark does
// and checks that it serves the page, from its cache the second time, and
// that the load generator measures it without a failure or a miss.
func TestServersAnswerHit(t *testing.T) {
	for _, c := range Contenders() {
		t.Run(c.Name, func(t *testing.T) {
			env := testEnv(t, c)
			cmd, err := c.Command(env)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Start(cmd, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := p.Stop(); err != nil {
					t.Error(err)
				}
				if c.Redis {
					if err := ClearPrefix(context.Background(), env.Redis, env.Prefix); err != nil {
						t.Error(err)
					}
				}
			})

			for i, want := range []string{"MISS", "HIT"} {
				resp, err := http.Get("http://" + p.Addr + Path)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK || !bytes.Equal(body, Page) {
					t.Fatalf("request %d: status %d, %d bytes; want 200 and the %d bytes of Page", i+1, resp.StatusCode, len(body), len(Page))
				}
				if got := resp.Header.Get(StatusHeader); got != want {
					t.Errorf("request %d: %s: %q; want %q", i+1, StatusHeader, got, want)
				}
				if got := resp.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("request %d: Content-Type %q; want application/json", i+1, got)
				}
			}
			if c.Redis && keys(t, env) == 0 {
				t.Errorf("no key under %q in Redis: the page was not cached there", env.Prefix)
			}

			const conns, perConn = 2, 25
			res, err := Load(context.Background(), LoadOptions{
				Targets: []string{p.Addr}, Conns: conns, PerConn: perConn,
				Warmup: -1, Duration: time.Minute,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != conns*perConn || res.Latency.Count() != conns*perConn || res.NotHits != 0 {
				t.Errorf("Load: %d requests, %d latencies, %d not hits; want %d, %d, 0",
					res.Requests, res.Latency.Count(), res.NotHits, conns*perConn, conns*perConn)
			}
		})
	}
}

func keys(t *testing.T, env Env) int {
	opts, err := redis.ParseURL(env.Redis)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	// One SCAN call looks at about COUNT keys of the whole database, not
	// COUNT matches: with other tests' keys in it, the first page can hold
	// none of ours. Walk the cursor to the end.
	n := 0
	iter := client.Scan(context.Background(), 0, env.Prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBenchRotatesContenders runs two contenders for two rounds and checks
// that each round measured both, the second in the other order.
func TestBenchRotatesContenders(t *testing.T) {
	all := Contenders()
	cs := []Contender{all[0], all[1]} // naive-map, cached-simple
	runs, err := Bench(context.Background(), BenchOptions{
		Contenders: cs,
		Env:        testEnv(t, cs[0]),
		Load:       LoadOptions{Conns: 2, PerConn: 5, Warmup: -1, Duration: time.Minute},
		Rounds:     2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, strconv.Itoa(r.Round)+":"+r.Contender)
		if r.Requests != 10 {
			t.Errorf("round %d, %s: %d requests; want 10", r.Round, r.Contender, r.Requests)
		}
	}
	want := []string{"1:naive-map", "1:cached-simple", "2:cached-simple", "2:naive-map"}
	if !slices.Equal(got, want) {
		t.Errorf("runs %v; want %v", got, want)
	}
	rows := Summarize(runs)
	if len(rows) != 2 || rows[0].Contender != Reference || rows[0].RPSRatio != (Spread{1, 1, 1}) {
		t.Errorf("Summarize: %+v; want the reference first, at 1x of itself", rows)
	}
}

func TestBenchNeedsTheReference(t *testing.T) {
	_, err := Bench(context.Background(), BenchOptions{Contenders: Contenders()[1:2]})
	if err == nil {
		t.Fatal("Bench without naive-map: no error")
	}
}

func TestStartReportsAServerThatExits(t *testing.T) {
	env := Env{Self: []string{os.Args[0], "serve"}, SelfEnv: []string{"E2E_SERVE=1"}}
	cmd, err := ours("bad", "", "no-such-mode").Command(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(cmd, time.Minute); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`mode "no-such-mode"`)) {
		t.Fatalf("Start of a server that fails: %v; want an error holding its output", err)
	}
}
