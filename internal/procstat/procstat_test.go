package procstat

import (
	"os"
	"testing"
)

func TestTicksReadsThisProcess(t *testing.T) {
	if _, ok := Ticks([]int{os.Getpid()}); !ok {
		t.Skip("no /proc here")
	}
	if _, ok := Ticks([]int{-5}); ok {
		t.Fatal("read a process that cannot exist")
	}
}
