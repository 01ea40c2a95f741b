//go:build !linux

package supervise

import "os/exec"

// dieWithParent has no kernel support off Linux; children there notice the
// master's death when their go-plugin connection closes.
func dieWithParent(*exec.Cmd) {}
