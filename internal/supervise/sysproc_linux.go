package supervise

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL the child when the master dies, so a
// killed master leaves no orphans behind.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
