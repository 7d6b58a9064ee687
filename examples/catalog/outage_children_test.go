//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
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

// TestOutageServersDieWithTheCatalog: -outage starts a redis-server (then a
// memcached) of its own and stops it when it ends; a catalog killed
// (SIGKILL, a lone SIGINT, a second Ctrl-C) never got there, and its server
// kept running, and kept its port, after it. The servers are now killed by
// the kernel when the catalog dies (Linux).
func TestOutageServersDieWithTheCatalog(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed; skipping")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-outage", "-seed", strconv.Itoa(workloadMinSeed))
	cmd.Env = append(os.Environ(), testWorkerEnv+"=1")
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()

	var server int
	require.Eventually(t, func() bool {
		server = childNamed(t, cmd.Process.Pid, "redis-server")
		return server != 0
	}, time.Minute, 50*time.Millisecond, "the catalog started no redis-server: %s", &stderr)
	addr := listenAddr(t, server)
	// The server answers once Launch has returned: the catalog has moved on.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, time.Minute, 50*time.Millisecond, "redis-server %d never answered on %s", server, addr)
	t.Cleanup(func() { _ = syscall.Kill(server, syscall.SIGKILL) }) // if it outlives the test

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	assert.Eventually(t, func() bool { return !alive(server) }, 30*time.Second, 20*time.Millisecond,
		"redis-server %d outlived the catalog that started it", server)
	c, err := net.Dial("tcp", addr)
	if err == nil {
		_ = c.Close()
	}
	assert.Error(t, err, "the dead catalog's redis-server still answers on %s", addr)
}

// childNamed returns the pid of a child of parent whose command is name,
// or 0, from /proc.
func childNamed(t *testing.T, parent int, name string) int {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	for _, path := range stats {
		pid, ppid, comm, _, ok := procStat(path)
		if ok && ppid == parent && comm == name {
			return pid
		}
	}
	return 0
}

// alive reports whether process pid runs: it exists and is not a zombie
// (a dead child that nobody has reaped yet).
func alive(pid int) bool {
	_, _, _, state, ok := procStat(fmt.Sprintf("/proc/%d/stat", pid))
	return ok && state != "Z" && state != "X"
}

// procStat reads a /proc/PID/stat: "pid (comm) state ppid ...".
func procStat(path string) (pid, ppid int, comm, state string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, "", "", false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, 0, "", "", false
	}
	rest := strings.Fields(s[end+1:])
	if len(rest) < 2 {
		return 0, 0, "", "", false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, err2 := strconv.Atoi(rest[1])
	return pid, ppid, s[open+1 : end], rest[0], err1 == nil && err2 == nil
}

// listenAddr returns the loopback address redis-server pid was told to
// listen on (its --port).
func listenAddr(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	args := strings.Split(string(b), "\x00")
	for i, a := range args {
		if a == "--port" && i+1 < len(args) {
			return "127.0.0.1:" + args[i+1]
		}
	}
	// redis-server rewrites its title: "redis-server 127.0.0.1:PORT".
	for _, a := range strings.Fields(strings.Join(args, " ")) {
		if _, port, err := net.SplitHostPort(a); err == nil {
			return "127.0.0.1:" + port
		}
	}
	t.Fatalf("no port in the command line of %d: %q", pid, b)
	return ""
}
