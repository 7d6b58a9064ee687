package near_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// The tests of this file run Caches in separate processes: the test binary
// runs itself again as a child (NEAR_CHILD=1), which opens a Cache with a
// near cache on the real server named by its environment and answers
// commands read from its standard input, one line each.

func TestMain(m *testing.M) {
	if os.Getenv("NEAR_CHILD") == "1" {
		if err := runChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "near child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// server is what the children of a test open: its kind (redis, cluster,
// sentinel or memcached), addresses, and a namespace of the test's own.
type server struct {
	kind   string
	addrs  []string
	master string // sentinel
	prefix string
}

func newServer(kind string, addrs ...string) server {
	return server{kind: kind, addrs: addrs, prefix: fmt.Sprintf("neartest-%d-%d", os.Getpid(), time.Now().UnixNano())}
}

// child is one process running a Cache.
type child struct {
	t    testing.TB
	name string // the go-redis client name, for CLIENT LIST
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// startChild starts a child on srv.
func startChild(t testing.TB, srv server, i int) *child {
	t.Helper()
	c := &child{t: t, name: fmt.Sprintf("%s-%d", srv.prefix, i)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(),
		"NEAR_CHILD=1",
		"NEAR_KIND="+srv.kind,
		"NEAR_ADDRS="+strings.Join(srv.addrs, ","),
		"NEAR_MASTER="+srv.master,
		"NEAR_PREFIX="+srv.prefix,
		"NEAR_NAME="+c.name,
	)
	c.cmd.Stderr = os.Stderr
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.in.Close()
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	})
	c.do("wait")
	return c
}

func startChildren(t *testing.T, srv server, n int) []*child {
	cs := make([]*child, n)
	for i := range cs {
		cs[i] = startChild(t, srv, i)
	}
	return cs
}

// do sends a command and returns the child's answer, failing the test on
// an error.
func (c *child) do(format string, args ...any) string {
	c.t.Helper()
	line := fmt.Sprintf(format, args...)
	if _, err := fmt.Fprintln(c.in, line); err != nil {
		c.t.Fatalf("%s: %v", line, err)
	}
	answer, err := c.out.ReadString('\n')
	if err != nil {
		c.t.Fatalf("%s: no answer: %v", line, err)
	}
	answer = strings.TrimSuffix(answer, "\n")
	if strings.HasPrefix(answer, "error ") {
		c.t.Fatalf("%s: %s", line, answer)
	}
	return answer
}

// expect sends a command and fails the test unless the answer is want.
func (c *child) expect(want, format string, args ...any) {
	c.t.Helper()
	if got := c.do(format, args...); got != want {
		c.t.Fatalf("%s: got %q, want %q", fmt.Sprintf(format, args...), got, want)
	}
}

// expectBody fails the test unless a view of path answers with body (a hit
// or a miss: another process may have stored it since the invalidation).
func (c *child) expectBody(body, path string) {
	c.t.Helper()
	got := c.do("view %s", path)
	if got != "ok HIT "+body && got != "ok MISS "+body {
		c.t.Fatalf("view %s: got %q, want body %q", path, got, body)
	}
}

// The children's Caches have no KeyPrefix: the backend keys are those of
// keys.go.
const (
	keyOf   = "k/"
	tagOf   = "t/"
	genOf   = "g/"
	pathOf  = "p/"
	maxWait = 10 * time.Second
)

// settle waits until the change of backend key reached c: on Redis, the
// news of it dropped it from c's near cache; on memcached, which sends
// none, c's clock moves past MaxStale.
func settle(srv server, c *child, key string) {
	c.t.Helper()
	if srv.kind == "memcached" {
		c.do("advance %v", near.DefaultMaxStale)
		return
	}
	c.expect("ok", "until-gone %s", key)
}

// warmHeld warms key on c until its near cache holds it, then checks that
// it still does. A lost watch (a heartbeat late on a loaded machine) empties
// the near cache in between, as it should: the key is warmed again, up to
// three times.
func warmHeld(c *child, key, value string) {
	c.t.Helper()
	for try := 1; ; try++ {
		c.expect("ok "+value, "warm %s", key)
		if c.do("held %s", keyOf+key) == "true" || try == 3 {
			break
		}
	}
	c.expect("true", "held %s", keyOf+key)
}

// seeEachOthersWrites runs three Caches in three processes on srv: every
// kind of write of one is seen by the others.
func seeEachOthersWrites(t *testing.T, srv server) {
	cs := startChildren(t, srv, 3)
	t.Cleanup(func() { cs[0].do("clear") })
	cs[0].expect("ok", "set k v1 tag")
	for _, c := range cs[1:] {
		warmHeld(c, "k", "v1")
	}

	cs[0].expect("ok", "set k v2 tag")
	cs[0].expect("ok v2", "get k") // a process never serves what it overwrote
	for _, c := range cs[1:] {
		if srv.kind == "memcached" {
			c.expect("ok v1", "get k") // within MaxStale: the documented bound
		}
		settle(srv, c, keyOf+"k")
		c.expect("ok v2", "get k")
	}

	// Views, invalidated by tag, then by path.
	for _, c := range cs {
		c.do("body A")
		c.do("view /products")
		c.expect("ok HIT A", "view /products")
	}
	for _, c := range cs {
		c.do("body B")
	}
	cs[2].expect("ok", "inv products")
	for _, c := range cs[:2] {
		settle(srv, c, tagOf+"products")
		c.expectBody("B", "/products")
	}
	for _, c := range cs {
		c.expect("ok HIT B", "view /products")
		c.do("body C")
	}
	cs[1].expect("ok", "invpath /products")
	for _, c := range []*child{cs[0], cs[2]} {
		settle(srv, c, pathOf+"/products")
		c.expectBody("C", "/products")
	}

	// Memoize's ForgetAll.
	cs[0].expect("ok C", "memo r")
	for _, c := range cs {
		c.expect("ok C", "memo r")
		c.do("body D")
	}
	cs[1].expect("ok", "forgetall")
	for _, c := range []*child{cs[0], cs[2]} {
		settle(srv, c, genOf+"report")
		c.expect("ok D", "memo r")
	}

	// Delete, and Clear.
	cs[2].expect("ok", "del k")
	for _, c := range cs[:2] {
		settle(srv, c, keyOf+"k")
		c.expect("miss", "get k")
	}
	cs[0].expect("ok", "set k v3 tag")
	for _, c := range cs {
		c.expect("ok v3", "get k")
		c.expect("ok v3", "get k")
	}
	cs[1].expect("ok", "clear")
	for _, c := range []*child{cs[0], cs[2]} {
		settle(srv, c, keyOf+"k")
		c.expect("miss", "get k")
	}
}

func TestProcessesOnRedis(t *testing.T) {
	t.Parallel()
	seeEachOthersWrites(t, newServer("redis", testutil.RedisAddr(t)))
}

func TestProcessesOnRedisCluster(t *testing.T) {
	t.Parallel()
	seeEachOthersWrites(t, newServer("cluster", testutil.RedisClusterAddrs(t)...))
}

func TestProcessesOnRedisSentinel(t *testing.T) {
	t.Parallel()
	addr, master := testutil.RedisSentinel(t)
	srv := newServer("sentinel", addr)
	srv.master = master
	seeEachOthersWrites(t, srv)
}

func TestProcessesOnMemcached(t *testing.T) {
	t.Parallel()
	seeEachOthersWrites(t, newServer("memcached", testutil.MemcachedAddrs(t)...))
}

// TestKillingTheWatchEmptiesAndBypasses: a child's watch connection (on a
// Cluster, the one to one master) is killed (CLIENT KILL) and cannot come
// back (its dials fail) while its data connections still work: its near
// cache is emptied and every read goes to Redis; once the watch is back,
// the near cache is used again.
func TestKillingTheWatchEmptiesAndBypasses(t *testing.T) {
	t.Parallel()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		killTheWatch(t, newServer("redis", testutil.RedisAddr(t)), 0)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		killTheWatch(t, newServer("cluster", testutil.RedisClusterAddrs(t)...), 1)
	})
}

// killTheWatch kills the reader's watch connection on srv.addrs[node].
func killTheWatch(t *testing.T, srv server, node int) {
	cs := startChildren(t, srv, 2)
	writer, reader := cs[0], cs[1]
	t.Cleanup(func() { writer.do("clear") })
	writer.expect("ok", "set k v1 tag")
	reader.expect("ok v1", "warm k")
	reader.expect("true", "held %s", keyOf+"k")

	reader.expect("ok", "block")
	if n := testutil.KillRedisClients(t, srv.addrs[node], reader.name+"-caching-near"); n != 1 {
		t.Fatalf("killed %d watch connections, want 1", n)
	}
	reader.expect("ok", "until-watching false")
	reader.expect("ok entries=0", "entries")
	writer.expect("ok", "set k v2 tag")
	for range 2 {
		reader.expect("ok v2", "get k")
		reader.expect("false", "held %s", keyOf+"k")
	}

	reader.expect("ok", "unblock")
	reader.expect("ok", "until-watching true")
	reader.expect("ok v2", "warm k")
	reader.expect("true", "held %s", keyOf+"k")
	writer.expect("ok", "set k v3 tag")
	settle(srv, reader, keyOf+"k")
	reader.expect("ok v3", "get k")
}

// TestRestartingRedisLosesNothingVisible: Redis (a process of the test's
// own) is stopped and started again, empty. No child ever serves what it
// held before.
func TestRestartingRedisLosesNothingVisible(t *testing.T) {
	t.Parallel()
	proc := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	srv := newServer("redis", proc.Addr)
	cs := startChildren(t, srv, 2)
	writer, reader := cs[0], cs[1]
	writer.expect("ok", "set k v1 tag")
	reader.expect("ok v1", "warm k")
	reader.expect("true", "held %s", keyOf+"k")

	proc.Stop()
	reader.expect("ok", "until-watching false")
	reader.expect("ok entries=0", "entries")
	if got := reader.do("get k"); got == "ok v1" {
		t.Fatal("served what it held while Redis was down")
	}
	proc.Start()
	reader.expect("ok", "until-watching true")
	reader.expect("miss", "get k")
	writer.expect("ok", "set k v2 tag")
	reader.expect("ok v2", "get k")
	reader.expect("ok v2", "get k")
	writer.expect("ok", "set k v3 tag")
	settle(srv, reader, keyOf+"k")
	reader.expect("ok v3", "get k")
}

// runChild is a child's main: it opens the Cache its environment describes
// and answers commands until its input ends.
func runChild(in io.Reader, out io.Writer) error {
	clock := testutil.NewClock() // the near cache's: MaxStale passes only by "advance"
	var blocked atomic.Bool
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if blocked.Load() {
			return nil, errors.New("dial blocked by the test")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	remote, err := openRemote(dialer)
	if err != nil {
		return err
	}
	n, err := near.New(remote, near.Options{Clock: clock.Now})
	if err != nil {
		return err
	}
	c, err := caching.New(&caching.Options{Backend: n, Breaker: caching.BreakerOptions{Threshold: -1}, Timeout: testutil.SlowTimeout})
	if err != nil {
		return err
	}
	defer c.Close()

	var body atomic.Value
	body.Store("")
	page := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body.Load().(string))
	})
	view := c.Cached(time.Minute, caching.Tags("products"), caching.CacheStatusHeader("X-Cache"))(page)
	memo := caching.Memoize(c, "report", func(context.Context, string) (string, error) {
		return body.Load().(string), nil
	})
	ctx := context.Background()
	until := func(cond func() bool) string {
		deadline := time.Now().Add(maxWait)
		for !cond() {
			if time.Now().After(deadline) {
				return "error: timed out"
			}
			time.Sleep(time.Millisecond)
		}
		return "ok"
	}
	answer := func(err error) string {
		if err != nil {
			return "error " + err.Error()
		}
		return "ok"
	}

	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		arg := func(i int) string {
			if i < len(f) {
				return f[i]
			}
			return ""
		}
		var reply string
		switch f[0] {
		case "wait":
			wctx, cancel := context.WithTimeout(ctx, maxWait)
			reply = answer(n.WaitWatching(wctx))
			cancel()
		case "set":
			reply = answer(c.Set(ctx, arg(1), []byte(arg(2)), time.Minute, caching.Tags(arg(3))))
		case "get":
			v, err := c.Get(ctx, arg(1))
			switch {
			case errors.Is(err, caching.ErrNotFound):
				reply = "miss"
			case err != nil:
				reply = "failed " + err.Error()
			default:
				reply = "ok " + string(v)
			}
		case "warm": // get until the near cache holds the key
			var v []byte
			reply = until(func() bool {
				v, err = c.Get(ctx, arg(1))
				_, held := n.LoadNear(keyOf+arg(1), time.Time{})
				return err == nil && held
			})
			if reply == "ok" {
				reply += " " + string(v)
			}
		case "spin": // hold k and t/tag, say so, then read k until it misses
			reply = until(func() bool {
				_, err = c.Get(ctx, arg(1))
				_, held := n.LoadNear(keyOf+arg(1), time.Time{})
				_, tagHeld := n.LoadNear(tagOf+arg(2), time.Time{})
				return err == nil && held && tagHeld
			})
			if reply != "ok" {
				break
			}
			if _, err := fmt.Fprintln(out, "ok spinning"); err != nil {
				return err
			}
			for {
				if _, err := c.Get(ctx, arg(1)); err != nil {
					reply = "ok " + strconv.FormatInt(time.Now().UnixNano(), 10)
					break
				}
				time.Sleep(20 * time.Microsecond)
			}
		case "del":
			reply = answer(c.Delete(ctx, arg(1)))
		case "clear":
			reply = answer(c.Clear(ctx))
		case "inv":
			reply = answer(c.InvalidateTags(ctx, arg(1)))
		case "invpath":
			reply = answer(c.InvalidatePath(ctx, arg(1)))
		case "body":
			body.Store(arg(1))
			reply = "ok"
		case "view":
			b, status := get(view, arg(1))
			reply = "ok " + status + " " + b
		case "memo":
			v, err := memo.Get(ctx, arg(1))
			reply = "ok " + v
			if err != nil {
				reply = answer(err)
			}
		case "forgetall":
			reply = answer(memo.ForgetAll(ctx))
		case "held":
			_, ok := n.LoadNear(arg(1), time.Time{})
			reply = strconv.FormatBool(ok)
		case "entries":
			reply = fmt.Sprintf("ok entries=%d", n.NearStats().Entries)
		case "advance":
			d, err := time.ParseDuration(arg(1))
			if err == nil {
				clock.Advance(d)
			}
			reply = answer(err)
		case "block", "unblock":
			blocked.Store(f[0] == "block")
			reply = "ok"
		case "until-gone":
			reply = until(func() bool {
				_, ok := n.LoadNear(arg(1), time.Time{})
				return !ok
			})
		case "until-watching":
			want := arg(1) == "true"
			reply = until(func() bool { return n.NearStats().Watching == want })
		default:
			reply = "error unknown command " + f[0]
		}
		if _, err := fmt.Fprintln(out, reply); err != nil {
			return err
		}
	}
	return sc.Err()
}

// openRemote opens the remote store the child's environment names.
func openRemote(dialer func(context.Context, string, string) (net.Conn, error)) (backend.Backend, error) {
	addrs := strings.Split(os.Getenv("NEAR_ADDRS"), ",")
	prefix, name := os.Getenv("NEAR_PREFIX"), os.Getenv("NEAR_NAME")
	var client redis.UniversalClient
	switch kind := os.Getenv("NEAR_KIND"); kind {
	case "memcached":
		return memcached.New(memcached.Options{Servers: addrs, Namespace: prefix, GenerationTTL: -1, Timeout: testutil.SlowTimeout})
	case "redis":
		client = redis.NewClient(&redis.Options{Addr: addrs[0], ClientName: name, Dialer: dialer, ContextTimeoutEnabled: true,
			ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	case "cluster":
		client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClientName: name, Dialer: dialer, ContextTimeoutEnabled: true,
			ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	case "sentinel":
		client = redis.NewFailoverClient(&redis.FailoverOptions{
			ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout,
			MasterName: os.Getenv("NEAR_MASTER"), SentinelAddrs: addrs, ClientName: name, Dialer: dialer,
		})
	default:
		return nil, fmt.Errorf("unknown NEAR_KIND %q", kind)
	}
	return redisstore.New(redisstore.Options{Client: client, Prefix: prefix + ":"})
}
