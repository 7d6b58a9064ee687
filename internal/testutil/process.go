package testutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Process is a server process run on a loopback port of its own (or one of
// another address of this machine: StartProcessAt), so that a
// test (or a load run) can stop and restart it to see how a client behaves
// while the server is down. StartProcess's processes are stopped when the
// test ends; Launch's by their caller. Both are also killed, on Linux,
// with the caller's process (a test binary that panics or times out
// runs no cleanup).
type Process struct {
	t   testing.TB // nil for Launch's processes
	bin string
	// tied: the process is killed when this one dies (on Linux).
	tied bool
	args func(port int) []string
	Port int
	Addr string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *LockedBuffer // cmd's output, for the error when it does not start
}

// startTries is how many fresh ports StartProcess and Launch try when the
// process exits before it listens: a port free a moment ago may have been
// taken since (by another test binary's process, or a Redis Cluster node's
// bus port, 10000 above its own).
const startTries = 5

// errExited is Restart's error when the process exited before it listened.
var errExited = errors.New("exited before it listened")

// StartProcess starts bin with the arguments args(port) on a free loopback
// port and waits until the process itself accepts connections there. When
// bin is not installed the test is skipped (failed in CI). It is stopped
// when the test ends and, on Linux, killed when the test binary dies
// without ending it (a panic off the test's goroutine, go test's -timeout,
// a SIGKILL), which runs no cleanup: it kept running, holding its port
// (and a Cluster node its bus port), once the binary was gone.
func StartProcess(t testing.TB, bin string, args func(port int) []string) *Process {
	t.Helper()
	return StartProcessAt(t, "127.0.0.1", bin, args)
}

// StartProcessAt is StartProcess for a process that listens on host (an
// address of this machine, which args must have it bind) rather than on
// 127.0.0.1: it waits until the process accepts connections at host.
func StartProcessAt(t testing.TB, host, bin string, args func(port int) []string) *Process {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		if InCI() {
			t.Fatalf("%s is not installed (CI=true, so this is a failure)", bin)
		}
		t.Skipf("%s is not installed; skipping", bin)
	}
	p, err := launch(host, bin, args, freePort, true)
	if err != nil {
		t.Fatal(err)
	}
	p.t = t
	t.Cleanup(p.Stop)
	return p
}

// Launch is StartProcess outside a test: it returns an error where
// StartProcess skips or fails the test, and the caller must call Stop.
// Restart it with Restart. On Linux the process (and each restart of it)
// is also killed when the caller's process dies without calling Stop
// (SIGKILL, a panic, os.Exit): it kept running, and kept its port, once
// its parent was gone.
func Launch(bin string, args func(port int) []string) (*Process, error) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, err
	}
	return launch("127.0.0.1", bin, args, freePort, true)
}

// launch starts bin on a port pick chooses, listening at host, on another
// port when the process exits before it listens; tied, killed when this
// process dies.
func launch(host, bin string, args func(port int) []string, pick func() (int, error), tied bool) (*Process, error) {
	var err error
	for try := 0; try < startTries; try++ {
		var port int
		if port, err = pick(); err != nil {
			return nil, err
		}
		p := &Process{bin: bin, tied: tied, args: args, Port: port, Addr: net.JoinHostPort(host, strconv.Itoa(port))}
		if err = p.Restart(); err == nil {
			return p, nil
		}
		if !errors.Is(err, errExited) {
			return nil, err
		}
	}
	return nil, err
}

// Start starts the process (again) on its port and waits until it answers.
// It fails the test if the process does not start; it is for the processes
// of StartProcess.
func (p *Process) Start() {
	p.t.Helper()
	if err := p.Restart(); err != nil {
		p.t.Fatal(err)
	}
}

// Restart starts the process again on its port, if it is not running, and
// waits until it answers: Start for the processes of Launch. A process that
// exits first (its port taken meanwhile) is an error wrapping errExited,
// with what it printed; so is a port answered by another process.
func (p *Process) Restart() error {
	if p.cmd != nil {
		return nil
	}
	cmd := exec.Command(p.bin, p.args(p.Port)...)
	out := &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = time.Second // a child holding the output open
	start := cmd.Start
	if p.tied {
		start = func() error { return startTied(cmd) }
	}
	if err := start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.done, p.out = cmd, done, out
	deadline := time.Now().Add(10 * time.Second)
	var foreign time.Time // when the port first answered, not from cmd
	for time.Now().Before(deadline) {
		select {
		case <-done:
			p.cmd = nil
			return fmt.Errorf("%s on %s %w: %s", p.bin, p.Addr, errExited, tail(out))
		default:
		}
		if c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			switch own, known := listens(cmd.Process.Pid, p.Port); {
			case own || !known:
				return nil
			case foreign.IsZero():
				foreign = time.Now()
			case time.Since(foreign) > time.Second:
				// Another process holds the port: ours exits (it
				// cannot bind) or is stopped here.
				p.Stop()
				return fmt.Errorf("%s on %s %w: another process listens there: %s", p.bin, p.Addr, errExited, tail(out))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop()
	return fmt.Errorf("%s did not start listening on %s: %s", p.bin, p.Addr, tail(out))
}

// Stop kills the process and waits for it to exit, so that its port refuses
// connections when Stop returns. It does nothing on a stopped process.
func (p *Process) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// listens reports whether process pid holds a socket listening on port
// (on any local address), from /proc; known is false where /proc cannot
// tell (not Linux), and the caller takes an answering port as the
// process's.
func listens(pid, port int) (own, known bool) {
	suffix := fmt.Sprintf(":%04X", port)
	var inodes []string
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		table, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		known = true
		for _, line := range strings.Split(string(table), "\n")[1:] {
			f := strings.Fields(line)
			// sl local remote st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) > 9 && strings.HasSuffix(f[1], suffix) && f[3] == "0A" {
				inodes = append(inodes, "socket:["+f[9]+"]")
			}
		}
	}
	if !known {
		return false, false
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		// The process has exited (it could not bind): whoever answered
		// the dial is another process.
		return false, true
	}
	for _, fd := range fds {
		link, err := os.Readlink(dir + "/" + fd.Name())
		if err != nil {
			continue
		}
		for _, in := range inodes {
			if link == in {
				return true, true
			}
		}
	}
	return false, true
}

// tail is the last of what a process printed.
func tail(out *LockedBuffer) string {
	s := strings.TrimSpace(out.String())
	if i := len(s) - 1000; i > 0 {
		s = "..." + s[i:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// String returns the process's address.
func (p *Process) String() string { return fmt.Sprintf("%s@%s", p.bin, p.Addr) }
