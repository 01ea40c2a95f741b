//go:build !linux

package supervise

import "os/exec"

// DieWithParent has no kernel support off Linux; children there notice their
// parent's death when their go-plugin connection closes.
func DieWithParent(*exec.Cmd) {}
