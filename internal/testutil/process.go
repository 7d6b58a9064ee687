package testutil

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Process is a server process run on a loopback port of its own, so that a
// test (or a load run) can stop and restart it to see how a client behaves
// while the server is down. StartProcess's processes are stopped when the
// test ends; Launch's by their caller.
type Process struct {
	t    testing.TB // nil for Launch's processes
	bin  string
	args func(port int) []string
	Port int
	Addr string
	cmd  *exec.Cmd
}

// StartProcess starts bin with the arguments args(port) on a free loopback
// port and waits until the port accepts connections. When bin is not
// installed the test is skipped (failed in CI).
func StartProcess(t testing.TB, bin string, args func(port int) []string) *Process {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		if InCI() {
			t.Fatalf("%s is not installed (CI=true, so this is a failure)", bin)
		}
		t.Skipf("%s is not installed; skipping", bin)
	}
	p := &Process{t: t, bin: bin, args: args, Port: FreePort(t)}
	p.Addr = "127.0.0.1:" + strconv.Itoa(p.Port)
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// Launch is StartProcess outside a test: it returns an error where
// StartProcess skips or fails the test, and the caller must call Stop.
// Restart it with Restart.
func Launch(bin string, args func(port int) []string) (*Process, error) {
	if _, err := exec.LookPath(bin); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &Process{bin: bin, args: args, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	return p, p.Restart()
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
// waits until it answers: Start for the processes of Launch.
func (p *Process) Restart() error {
	if p.cmd != nil {
		return nil
	}
	cmd := exec.Command(p.bin, p.args(p.Port)...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop()
	return errors.New(p.bin + " did not start listening on " + p.Addr)
}

// Stop kills the process and waits for it to exit, so that its port refuses
// connections when Stop returns. It does nothing on a stopped process.
func (p *Process) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
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
