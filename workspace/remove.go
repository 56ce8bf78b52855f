package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Remove deletes the workspace directory. os.RemoveAll does not follow the
// symlinks the agent may have left in it.
func (i Info) Remove() error {
	if i.Dir == "" {
		return errorf(ErrInvalid, "no workspace directory")
	}
	err := os.RemoveAll(i.Dir)
	if errors.Is(err, fs.ErrPermission) {
		// Files the container's user made unwritable, or gave another owner.
		return fmt.Errorf("removing the workspace: %w; remove %s by hand (it may need sudo)", err, i.Dir)
	}
	if err != nil {
		return fmt.Errorf("removing the workspace: %w", err)
	}
	return nil
}
