package supervise

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the kernel SIGKILL the child when its parent dies, so
// a killed master (or pluginhost) leaves no orphans behind.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
