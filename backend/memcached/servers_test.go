package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// The Store's server list must put each key on the server gomemcache's
// ServerList does, so that keys land where other gomemcache clients, and
// this package before it kept names, put them.
func TestServerListPicksAsGomemcache(t *testing.T) {
	keys := []string{"", "a", "caching:gen", "ns:12345:user:1", strings.Repeat("k", 250), strings.Repeat("x", 300) + "tail"}
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("ns:%d:key/%d", i%7, i))
	}
	for _, n := range []int{1, 2, 3, 5, 8} {
		t.Run(fmt.Sprint(n, " servers"), func(t *testing.T) {
			servers := make([]string, n)
			for i := range servers {
				servers[i] = fmt.Sprintf("127.0.0.%d:%d", i+1, 11211+i)
			}
			var want memcache.ServerList
			if err := want.SetServers(servers...); err != nil {
				t.Fatal(err)
			}
			got, err := newServerList(servers)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				wa, err := want.PickServer(k)
				if err != nil {
					t.Fatal(err)
				}
				ga, err := got.PickServer(k)
				if err != nil {
					t.Fatal(err)
				}
				if wi, gi := indexOf(servers, wa.String()), indexOf(servers, ga.String()); wi != gi || wi < 0 {
					t.Fatalf("key %.40q: ServerList picks server #%d, the Store's list #%d", k, wi, gi)
				}
			}
		})
	}
}

func indexOf(servers []string, s string) int {
	for i, v := range servers {
		if v == s {
			return i
		}
	}
	return -1
}

// The server list keeps names as given, for the dialer to resolve at each
// connection, and walks them in order.
func TestServerListKeepsNames(t *testing.T) {
	servers := []string{"cache-0.memcached.svc:11211", "[::1]:11212", "/run/memcached.sock"}
	l, err := newServerList(servers)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = l.Each(func(a net.Addr) error {
		got = append(got, a.Network()+" "+a.String())
		return nil
	})
	want := []string{"tcp cache-0.memcached.svc:11211", "tcp [::1]:11212", "unix /run/memcached.sock"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Each walks %q; want %q", got, want)
	}
}

// New checks the servers' syntax only, and refuses bad syntax with
// backend.ErrInvalidOption.
func TestNewChecksServerSyntax(t *testing.T) {
	for _, s := range []string{"cache", "cache:", ":11211", "cache:no-such-service", "cache:0", "cache:65536", "cache:-1", "[::1", "a:b:c"} {
		_, err := New(Options{Servers: []string{"127.0.0.1:11211", s}})
		if !errors.Is(err, backend.ErrInvalidOption) || !strings.Contains(err.Error(), "Options.Servers[1]") {
			t.Errorf("New with server %q: %v; want ErrInvalidOption naming Options.Servers[1]", s, err)
		}
	}
	for _, s := range []string{"cache:11211", "memcached.not-yet-resolvable.invalid:11211", "[::1]:11211", "10.0.0.1:65535", "/tmp/memcached.sock", "cache:http"} {
		st, err := New(Options{Servers: []string{s}})
		if err != nil {
			t.Errorf("New with server %q: %v", s, err)
			continue
		}
		st.Close()
	}
}

// A server named by a Unix socket's path is dialled there.
func TestUnixSocketServer(t *testing.T) {
	if _, err := exec.LookPath("memcached"); err != nil {
		if testutil.InCI() {
			t.Fatal("memcached is not installed (CI=true, so this is a failure)")
		}
		t.Skip("memcached is not installed; skipping")
	}
	dir, err := os.MkdirTemp("", "mc") // short: a socket's path is at most about 100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "m.sock")
	cmd := exec.Command("memcached", "-u", "root", "-s", sock, "-m", "16")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("memcached does not answer on %s: %v", sock, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := New(Options{Servers: []string{sock}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v; want \"v\"", v, err)
	}
}
