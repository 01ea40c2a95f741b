//go:build !linux

package pluginhost

import "os/exec"

// dieWithParent has no equivalent outside Linux.
func dieWithParent(*exec.Cmd) {}
