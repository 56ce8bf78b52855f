package workspace

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// copyIncludes copies the ignored files of src that match globs (like a
// .env.example the project needs to run) into the workspace, outside the
// baseline. g lists src's ignored files (it runs against src's work tree).
// Both trees are entered through os.Root: a symlinked directory in either
// cannot make us read or write outside them.
func copyIncludes(ctx context.Context, g gitCmd, src, dst string, globs []string) error {
	out, err := g.run(ctx, "ls-files", "-z", "--others", "--ignored", "--exclude-standard")
	if err != nil {
		return fmt.Errorf("listing the ignored files of %s: %w", src, err)
	}
	from, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := os.OpenRoot(dst)
	if err != nil {
		return err
	}
	defer to.Close()
	for _, rel := range splitNUL(out) {
		if !matchInclude(globs, rel) {
			continue
		}
		if err := copyEntry(from, to, rel); err != nil {
			return fmt.Errorf("copying %s from %s: %w", quote(rel), src, err)
		}
	}
	return nil
}

// copyEntry copies one regular file or symlink (as a link, never followed);
// anything else is skipped.
func copyEntry(from, to *os.Root, rel string) error {
	rel = filepath.FromSlash(rel)
	fi, err := from.Lstat(rel)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(rel); dir != "." {
		if err := to.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := from.Readlink(rel)
		if err != nil {
			return err
		}
		return to.Symlink(target, rel)
	case fi.Mode().IsRegular():
		in, err := from.OpenFile(rel, os.O_RDONLY|oNonblock, 0)
		if err != nil {
			return err
		}
		defer in.Close()
		if st, err := in.Stat(); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("not a regular file")
		}
		out, err := to.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode(fi.Mode()))
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
	return nil
}

// fileMode is the mode git would check a file out with.
func fileMode(m fs.FileMode) fs.FileMode {
	if m&0o100 != 0 {
		return 0o755
	}
	return 0o644
}

// finishTree gives the workspace its owner and modes and counts what it
// holds (outside .git). Nothing but us has written to it yet, so a plain
// walk is safe here; it never follows a link.
func finishTree(o CreateOptions) (files int, size int64, err error) {
	err = filepath.WalkDir(o.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if o.Chown >= 0 {
			if err := os.Lchown(p, o.Chown, o.Chown); err != nil {
				return err
			}
		}
		if o.WorldWritable && fi.Mode()&fs.ModeSymlink == 0 {
			mode := fs.FileMode(0o666)
			if fi.IsDir() || fi.Mode()&0o100 != 0 {
				mode = 0o777
			}
			if err := os.Chmod(p, mode); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(o.Dir, p)
		if rel != ".git" && !isUnder(filepath.ToSlash(rel), ".git") && !fi.IsDir() {
			files++
			if fi.Mode().IsRegular() {
				size += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("setting the workspace's owner and modes: %w", err)
	}
	return files, size, nil
}

// isUnder says whether the slash path p is below dir.
func isUnder(p, dir string) bool {
	return strings.HasPrefix(p, dir+"/")
}
