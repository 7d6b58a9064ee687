package testutil

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets the test binary play a server: run as "serve PORT" it
// listens on PORT (exiting 1 when it cannot, as redis-server and memcached
// do) and, as "serve none", only sleeps.
func TestMain(m *testing.M) {
	if len(os.Args) != 3 || os.Args[1] != "serve" {
		os.Exit(m.Run())
	}
	switch mode := os.Args[2]; mode {
	case "none":
		time.Sleep(time.Minute)
		os.Exit(0)
	default:
		l, err := net.Listen("tcp", "127.0.0.1:"+mode)
		if err != nil {
			println("cannot listen:", err.Error())
			os.Exit(1)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	}
}

// self returns the arguments that make the test binary a server, given
// its port: mode(port) is the port to listen on, or "none".
func self(mode func(port int) string) func(port int) []string {
	return func(port int) []string { return []string{"serve", mode(port)} }
}

func selfBin(t *testing.T) string {
	exe, err := os.Executable()
	require.NoError(t, err)
	return exe
}

// holdPort listens on a free port for the test's length.
func holdPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// A port taken between freePort and the server's bind: CI failed on a
// redis-server that could not bind the port it was given, the start
// waiting 10 s for it and failing the test. The process's exit is seen
// and another port tried. The port taken refuses connections (bound, not
// listening): a start that missed the exit found nothing listening until
// its deadline, and failed with an error that is not errExited, which
// launch does not retry; no clock tells the two apart.
func TestLaunchTriesAnotherPortWhenTheProcessExits(t *testing.T) {
	addr := RefusedAddr(t)
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Skip("RefusedAddr's port can be taken here")
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	taken, err := strconv.Atoi(port)
	require.NoError(t, err)
	picks := 0
	pick := func() (int, error) {
		picks++
		if picks == 1 {
			return taken, nil
		}
		return freePort()
	}
	p, err := launch("127.0.0.1", selfBin(t), self(strconv.Itoa), pick, false)
	require.NoError(t, err, "the exit seen before the start's deadline")
	t.Cleanup(p.Stop)
	assert.Equal(t, 2, picks, "one more port after the process exited")
	assert.NotEqual(t, taken, p.Port)
	own, known := listens(p.cmd.Process.Pid, p.Port)
	if known {
		assert.True(t, own, "the process listens on its port")
	}
}

// A port another process listens on answers the dial: the test would have
// talked to that process. Restart refuses it.
func TestRestartRefusesAPortAnotherProcessListensOn(t *testing.T) {
	if _, known := listens(os.Getpid(), 1); !known {
		t.Skip("no /proc to tell which process listens on a port")
	}
	taken := holdPort(t)
	p := &Process{bin: selfBin(t), args: self(func(int) string { return "none" }), Port: taken, Addr: "127.0.0.1:" + strconv.Itoa(taken)}
	err := p.Restart()
	require.Error(t, err)
	assert.True(t, errors.Is(err, errExited), "%v", err)
	assert.Contains(t, err.Error(), "another process listens there")
	assert.Nil(t, p.cmd, "the process stopped")
}

// The output of a process that exits is in the error.
func TestRestartErrorCarriesTheProcessOutput(t *testing.T) {
	taken := holdPort(t)
	p := &Process{bin: selfBin(t), args: self(strconv.Itoa), Port: taken, Addr: "127.0.0.1:" + strconv.Itoa(taken)}
	err := p.Restart()
	require.Error(t, err)
	assert.True(t, errors.Is(err, errExited), "%v", err)
	assert.Contains(t, err.Error(), "cannot listen")
}

// RefusedAddr's port refuses connections, and no server can take it.
func TestRefusedAddrRefusesAndCannotBeTaken(t *testing.T) {
	addr := RefusedAddr(t)
	_, err := net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "a connection to %s", addr)
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("a listener took %s", addr)
	}
}

// panicPIDFile is the environment variable that makes
// TestStartProcessThenPanic run: the file it writes its server's pid to.
const panicPIDFile = "TESTUTIL_PANIC_PID_FILE"

// TestStartProcessThenPanic is TestStartProcessDiesWithItsTestBinary's
// test binary: it starts a server, says its pid, and panics on a goroutine
// of its own, as a server or hook goroutine of a test may, and as go
// test's -timeout does: the binary dies without running the cleanups (a
// panic on the test's goroutine runs them).
func TestStartProcessThenPanic(t *testing.T) {
	file := os.Getenv(panicPIDFile)
	if file == "" {
		t.Skip("run by TestStartProcessDiesWithItsTestBinary")
	}
	p := StartProcess(t, selfBin(t), self(strconv.Itoa))
	require.NoError(t, os.WriteFile(file, []byte(strconv.Itoa(p.cmd.Process.Pid)), 0o600))
	go panic("a test's goroutine that panics: no cleanup runs")
	select {}
}

// A test binary that panicked off the test's goroutine, or that go test's
// -timeout ended, never ran
// the t.Cleanup that stops StartProcess's servers: CI was left with
// redis-servers (a whole test Cluster's) running, and holding their ports
// and Cluster bus ports, after the run. They now die with the binary.
func TestStartProcessDiesWithItsTestBinary(t *testing.T) {
	if _, known := listens(os.Getpid(), 1); !known {
		t.Skip("only Linux ties a child's life to its parent's")
	}
	file := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command(selfBin(t), "-test.run=^TestStartProcessThenPanic$", "-test.count=1")
	cmd.Env = append(os.Environ(), panicPIDFile+"="+file)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the test binary panicked: %s", out)
	b, err := os.ReadFile(file)
	require.NoError(t, err, "the server's pid: %s", out)
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // left running before the fix
	// The kernel kills it as its parent dies; the wait is for its reaper.
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.False(t, alive(pid), "the server of a test binary that panicked still runs")
}

// alive reports whether process pid runs: it exists and is no zombie
// (killed, not yet reaped).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, the state follows its ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
