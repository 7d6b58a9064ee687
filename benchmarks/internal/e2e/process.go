package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Contender is one kind of server the benchmark measures.
type Contender struct {
	// Name is the contender's short name ("naive-map", ...), Title its row
	// in the table.
	Name, Title string
	// Command returns the command that starts one server of this kind. The
	// server must print a line holding "listening on http://HOST:PORT"
	// (ours) or "Listening at: http://HOST:PORT" (gunicorn) once it accepts
	// connections.
	Command func(env Env) (*exec.Cmd, error)
	// Available is nil when the contender can run here, or says what is
	// missing.
	Available func(env Env) error
	// Redis is whether the contender keeps its entries in env.Redis under
	// env.Prefix (removed by ClearPrefix after each run).
	Redis bool
	// PerWorker is whether each worker process of a server has a cache of
	// its own (Flask-Caching's SimpleCache under gunicorn): each may miss,
	// once per thread, after the warm-up too, when it served nothing during
	// it.
	PerWorker bool
}

// Env is what a Contender's Command needs.
type Env struct {
	// Self is the command line that runs ServeMain: the executable and the
	// arguments before ServeMain's own ({"/path/e2ebench", "serve"}).
	Self []string
	// SelfEnv is extra environment ("K=V") for Self.
	SelfEnv []string
	// Redis is the Redis URL of the Redis contenders (DefaultRedisURL when
	// empty), Prefix their key prefix (one of this run's own).
	Redis, Prefix string
	// Dir is a scratch folder: the Flask contenders write their app there.
	Dir string
	// Workers is the number of gunicorn worker processes (DefaultWorkers
	// when 0), Threads the threads of each (DefaultThreads when 0; 1: the
	// sync worker, which closes the connection after each response).
	Workers, Threads int
}

func (e Env) redisURL() string {
	if e.Redis == "" {
		return DefaultRedisURL
	}
	return e.Redis
}

func (e Env) workers() int {
	if e.Workers == 0 {
		return DefaultWorkers
	}
	return e.Workers
}

func (e Env) threads() int {
	if e.Threads == 0 {
		return DefaultThreads
	}
	return e.Threads
}

// Contenders returns every contender, the reference (naive-map) first.
func Contenders() []Contender {
	return []Contender{
		ours("naive-map", "naive map (the reference)", ModeNaive),
		ours("cached-simple", "Cached, in-process store", ModeSimple),
		ours("cached-redis", "Cached, Redis", ModeRedis),
		ours("cached-near-redis", "Cached, Redis with a near cache", ModeNear),
		flask("flask-simplecache", "Flask-Caching SimpleCache, gunicorn", "SimpleCache"),
		flask("flask-rediscache", "Flask-Caching RedisCache, gunicorn", "RedisCache"),
	}
}

// Reference is the name of the contender every ratio divides by.
const Reference = "naive-map"

func ours(name, title, mode string) Contender {
	return Contender{
		Name:  name,
		Title: title,
		Redis: mode == ModeRedis || mode == ModeNear,
		Command: func(env Env) (*exec.Cmd, error) {
			if len(env.Self) == 0 {
				return nil, errors.New("e2e: Env.Self is empty")
			}
			args := append(env.Self[1:len(env.Self):len(env.Self)], "-mode", mode)
			if mode == ModeRedis || mode == ModeNear {
				args = append(args, "-redis", env.redisURL(), "-prefix", env.Prefix)
			}
			cmd := exec.Command(env.Self[0], args...)
			cmd.Env = append(os.Environ(), env.SelfEnv...)
			return cmd, nil
		},
	}
}

// addrLine finds the address in the line a server prints once it listens.
var addrLine = regexp.MustCompile(`(?:listening on|Listening at:) http://([^\s/]+)`)

// Process is a server a Contender's Command started.
type Process struct {
	// Addr is the host:port it listens on.
	Addr string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's, once done is closed
}

// Start runs cmd and waits until it prints the address it listens on (at
// most timeout). Its output is kept, the last lines of it for errors. The
// caller must Stop it.
func Start(cmd *exec.Cmd, timeout time.Duration) (*Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close() // the child holds its own copy
	p := &Process{cmd: cmd, out: &tail{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer r.Close()
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.out.add(s.Text())
			if m := addrLine.FindStringSubmatch(s.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case p.Addr = <-addr:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("e2e: %s exited before listening (%v):\n%s", cmd.Path, p.err, p.out)
	case <-timer.C:
		_ = p.Stop()
		return nil, fmt.Errorf("e2e: %s did not listen within %v:\n%s", cmd.Path, timeout, p.out)
	}
}

// Stop asks the server to stop (SIGTERM), kills it when it has not exited
// after five seconds, and waits for it. It returns an error when the server
// had already died or was killed, with the end of its output.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return fmt.Errorf("e2e: %s had exited (%v):\n%s", p.cmd.Path, p.err, p.out)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("e2e: %s did not stop on SIGTERM; killed:\n%s", p.cmd.Path, p.out)
	}
}

// Output returns the last lines the server printed.
func (p *Process) Output() string { return p.out.String() }

// tail keeps the last lines of a process's output.
type tail struct {
	mu    sync.Mutex
	lines []string
}

const tailLines = 40

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// ClearPrefix deletes every key under prefix in the Redis at url (SCAN and
// DEL: never a flush). The prefix must not hold glob characters.
func ClearPrefix(ctx context.Context, url, prefix string) error {
	if prefix == "" || strings.ContainsAny(prefix, `*?[]\`) {
		return fmt.Errorf("e2e: prefix %q is empty or holds glob characters", prefix)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	client := redis.NewClient(opts)
	defer client.Close()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return client.Del(ctx, keys...).Err()
}
