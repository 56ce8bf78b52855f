//go:build unix

package workspace

import "syscall"

// oNonblock makes opening a FIFO return at once instead of waiting for a
// writer; what was opened is then checked to be a regular file.
const oNonblock = syscall.O_NONBLOCK
