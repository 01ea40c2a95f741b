package pluginhost

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL a plugin when the pluginhost dies,
// so a killed pluginhost leaves no plugins behind.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
