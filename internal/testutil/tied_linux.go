//go:build linux

package testutil

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startTied starts cmd so that the kernel kills it (SIGKILL) when this
// process dies, however it dies: SIGKILL, a signal whose default ends it,
// a panic, os.Exit. Stop, which such a process never reaches, is not needed.
//
// The kernel sends the signal when the thread that started the child ends
// (PR_SET_PDEATHSIG; see syscall.SysProcAttr.Pdeathsig), not the process.
// The Go runtime ends a thread only when a goroutine locked to it
// (runtime.LockOSThread) returns without unlocking it, which a library
// may do on whatever thread a goroutine of ours ran on before: the start
// happens on a thread of its own, locked by a goroutine that never
// returns, so it ends with the process alone.
func startTied(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	starter.once.Do(func() {
		starter.starts = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for start := range starter.starts {
				start()
			}
		}()
	})
	errc := make(chan error, 1)
	starter.starts <- func() { errc <- cmd.Start() }
	return <-errc
}

// starter is the goroutine that starts the processes of startTied, on the
// thread it holds for the process's life.
var starter struct {
	once   sync.Once
	starts chan func()
}
