package node

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// FaultEnv names the environment variable through which crash tests make a
// real daemon kill itself at a chosen point of its disk I/O, for example
// between writing a block's temp file and renaming it into place. Only
// tests set it.
const FaultEnv = "MESHCACHE_TEST_FAULT"

// FaultFS parses a fault spec "kill:OP:N" (OP one of create, write, sync, syncfs,
// rename, syncdir) and returns the real file system wrapped so that the
// process SIGKILLs itself just before the Nth such operation.
func FaultFS(spec string) (vfs.FS, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 3 || parts[0] != "kill" {
		return nil, fmt.Errorf("%s=%q: want kill:OP:N", FaultEnv, spec)
	}
	ops := map[string]vfs.Op{"create": vfs.OpCreate, "write": vfs.OpWrite, "sync": vfs.OpSync, "rename": vfs.OpRename, "syncdir": vfs.OpSyncDir, "syncfs": vfs.OpSyncFS}
	op, ok := ops[parts[1]]
	if !ok {
		return nil, fmt.Errorf("%s=%q: unknown operation %q", FaultEnv, spec, parts[1])
	}
	n, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%s=%q: N must be a positive count", FaultEnv, spec)
	}
	var seen atomic.Int64
	return faultfs.New(vfs.OS{}, func(o vfs.Op, _ string) error {
		if o == op && seen.Add(1) == n {
			// SIGKILL, not an error: the point is a process that dies with
			// the operation not done, as a crash or the OOM killer does.
			syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		return nil
	}), nil
}
