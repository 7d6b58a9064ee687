//go:build !linux

package testutil

import "os/exec"

// startTied starts cmd. Only Linux can tie a child's life to this
// process's (PR_SET_PDEATHSIG): elsewhere a process that dies before it
// calls Stop leaves the child running.
func startTied(cmd *exec.Cmd) error { return cmd.Start() }
