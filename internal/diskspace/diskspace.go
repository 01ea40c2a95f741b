// Package diskspace measures the room left on a file system: the one rule
// recordings, jobs and the obs-websocket status share.
package diskspace

import "golang.org/x/sys/unix"

// Free is how many bytes an unprivileged writer may still put on the file
// system that holds dir.
func Free(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
