package testutil

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Process is a server process a test runs on a loopback port of its own, so
// that it can stop and restart it to test how a client behaves while the
// server is down. It is stopped when the test ends.
type Process struct {
	t    testing.TB
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
	port := FreePort(t)
	p := &Process{t: t, bin: bin, args: args, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// Start starts the process (again) on its port and waits until it answers.
func (p *Process) Start() {
	p.t.Helper()
	if p.cmd != nil {
		return
	}
	cmd := exec.Command(p.bin, p.args(p.Port)...)
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.bin, err)
	}
	p.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", p.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("%s did not start listening on %s", p.bin, p.Addr)
}

// Stop kills the process and waits for it to exit, so that its port refuses
// connections when Stop returns.
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String returns the process's address.
func (p *Process) String() string { return fmt.Sprintf("%s@%s", p.bin, p.Addr) }
