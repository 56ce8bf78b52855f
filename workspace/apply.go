package workspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// Apply is `git apply` of the work without the index: every changed path of
// the user's working tree must still be as it was at the baseline, or
// nothing is written. All of the user's tree is entered through an os.Root,
// and a parent directory that is a symlink is a conflict, so no write lands
// outside it.

const (
	maxConflictsShown = 20
	maxSymlinkTarget  = 4096
)

// step is the change of one path.
type step struct {
	path   string
	old    *object.TreeEntry // at the baseline; nil when there was nothing
	new    *object.TreeEntry // in the work; nil when deleted
	target string            // new is a symlink: where it points
	tmp    string            // new is a file: its content, staged
}

// Apply writes the work into the user's working tree, uncommitted.
func (i Info) Apply(ctx context.Context, o ApplyOptions) (Mark, error) {
	if !filepath.IsAbs(i.Source) {
		return Mark{}, errorf(ErrInvalid, "the workspace's source %s is not an absolute path", quote(i.Source))
	}
	if err := validTree(o.Tree); err != nil {
		return Mark{}, err
	}
	r, w, err := i.reviewedWork(ctx, o.Tree)
	if err != nil {
		return Mark{}, err
	}
	defer r.Close()
	steps, err := r.steps(ctx, w.baseline.TreeHash, w.tree)
	if err != nil {
		return Mark{}, err
	}
	src, err := os.OpenRoot(i.Source)
	if err != nil {
		return Mark{}, fmt.Errorf("opening %s: %w", i.Source, err)
	}
	defer src.Close()
	var written []string
	for _, s := range steps {
		if s.new != nil {
			written = append(written, s.path)
		}
	}
	// The top of a repository has its own .git, which git finds first; a
	// plain directory has none.
	if err := r.noNestedRepo(w.tree, written, !i.Git, src, "applied"); err != nil {
		return Mark{}, err
	}
	if conflicts := r.conflicts(ctx, src, steps); len(conflicts) > 0 {
		msg := strings.Join(conflicts[:min(len(conflicts), maxConflictsShown)], "\n  ")
		if len(conflicts) > maxConflictsShown {
			msg += fmt.Sprintf("\n  and %d more", len(conflicts)-maxConflictsShown)
		}
		return Mark{}, errorf(ErrConflict, "the work cannot be applied to %s, nothing was written:\n  %s", i.Source, msg)
	}
	if err := r.write(ctx, src, steps); err != nil {
		return Mark{}, err
	}
	return Mark{Tree: w.tree.String(), At: time.Now()}, nil
}

// steps turns the changes from the baseline into checked steps.
func (r *reader) steps(ctx context.Context, from, to plumbing.Hash) ([]*step, error) {
	changes, err := r.rawChanges(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var steps []*step
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return nil, err
		}
		s := &step{}
		if action != merkletrie.Insert {
			s.path, s.old = ch.From.Name, &ch.From.TreeEntry
		}
		if action != merkletrie.Delete {
			s.path, s.new = ch.To.Name, &ch.To.TreeEntry
		}
		if err := validPath(s.path); err != nil {
			return nil, err
		}
		for _, e := range []*object.TreeEntry{s.old, s.new} {
			if e != nil && e.Mode == filemode.Submodule {
				return nil, errorf(ErrInvalid, "%s is a submodule, which apply cannot change; land the work instead", quote(s.path))
			}
		}
		if s.new != nil && s.new.Mode == filemode.Symlink {
			b, err := r.readBlob(s.new.Hash)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", quote(s.path), err)
			}
			if len(b) > maxSymlinkTarget {
				return nil, errorf(ErrInvalid, "the symlink %s in the work is too long", quote(s.path))
			}
			s.target = string(b)
			if why := symlinkEscapes(s.path, s.target); why != "" {
				return nil, errorf(ErrInvalid, "%s would become a symlink to %s, which %s: apply writes nothing that leads outside the repository; land the work and review it instead", quote(s.path), quote(s.target), why)
			}
		}
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].path < steps[j].path })
	return steps, nil
}

// conflicts compares the user's working tree with the baseline side of
// every step.
func (r *reader) conflicts(ctx context.Context, src *os.Root, steps []*step) []string {
	deleting := map[string]bool{}
	for _, s := range steps {
		if s.old != nil && s.new == nil {
			deleting[s.path] = true
		}
	}
	var out []string
	for _, s := range steps {
		if ctx.Err() != nil {
			return append(out, ctx.Err().Error())
		}
		if c := r.conflict(src, s, deleting); c != "" {
			out = append(out, fmt.Sprintf("%s: %s", quote(s.path), c))
		}
	}
	return out
}

// conflict says how the user's path differs from the baseline; "" if not.
func (r *reader) conflict(src *os.Root, s *step, deleting map[string]bool) string {
	// Every parent must be a real directory (or absent, or a file this
	// apply deletes to make room for a directory).
	parts := strings.Split(s.path, "/")
	for n := 1; n < len(parts); n++ {
		d := strings.Join(parts[:n], "/")
		fi, err := src.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		switch {
		case err != nil:
			return quote(err.Error())
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Sprintf("its directory %s is a symlink in your working tree", quote(d))
		case fi.IsDir():
			continue
		case fi.Mode().IsRegular() && deleting[d]:
			// checked as a step of its own
		default:
			return fmt.Sprintf("its directory %s is not a directory in your working tree", quote(d))
		}
		break
	}
	fi, err := src.Lstat(s.path)
	// ENOTDIR: a parent is a file this apply deletes.
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return quote(err.Error())
	}
	exists := err == nil
	if s.old == nil {
		switch {
		case !exists:
			return ""
		case fi.IsDir() && r.onlyDeleted(src, s.path, deleting):
			return ""
		}
		return "already exists in your working tree"
	}
	if !exists {
		return "deleted in your working tree since the session started"
	}
	if !r.sameAsBaseline(src, s, fi) {
		return "changed in your working tree since the session started"
	}
	return ""
}

// sameAsBaseline compares the user's file with the baseline's entry:
// type, executable bit and content.
func (r *reader) sameAsBaseline(src *os.Root, s *step, fi fs.FileInfo) bool {
	if s.old.Mode == filemode.Symlink {
		if fi.Mode()&fs.ModeSymlink == 0 {
			return false
		}
		target, err := src.Readlink(s.path)
		if err != nil {
			return false
		}
		want, err := r.readBlob(s.old.Hash)
		return err == nil && string(want) == target
	}
	if !fi.Mode().IsRegular() || (fi.Mode()&0o100 != 0) != (s.old.Mode == filemode.Executable) {
		return false
	}
	f, st, err := openRegular(src, s.path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := plumbing.NewHasher(plumbing.BlobObject, st.Size())
	if n, err := io.Copy(h, io.LimitReader(f, st.Size())); err != nil || n != st.Size() {
		return false
	}
	return h.Sum() == s.old.Hash
}

// onlyDeleted says whether directory dir holds nothing but files this apply
// deletes (so a file can take its place).
func (r *reader) onlyDeleted(src *os.Root, dir string, deleting map[string]bool) bool {
	budget := 100000
	var walk func(d string) bool
	walk = func(d string) bool {
		f, err := src.Open(d)
		if err != nil {
			return false
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil || len(ents) == 0 {
			// An empty directory would stay, and be in the file's way.
			return false
		}
		for _, e := range ents {
			if budget--; budget < 0 {
				return false
			}
			p := d + "/" + e.Name()
			if e.IsDir() {
				if !walk(p) {
					return false
				}
			} else if !deleting[p] {
				return false
			}
		}
		return true
	}
	return walk(dir)
}

// write applies the steps: new content is staged first (so a workspace
// that changes while we read it stops us before anything is replaced),
// then deletions, then everything moves into place.
func (r *reader) write(ctx context.Context, src *os.Root, steps []*step) (err error) {
	defer func() {
		for _, s := range steps {
			if s.tmp != "" {
				src.Remove(s.tmp)
			}
		}
	}()
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.new != nil && s.new.Mode != filemode.Symlink {
			if err := r.stage(src, s); err != nil {
				return applyErr(s, err, "nothing was written")
			}
		}
	}
	done := 0
	stopped := func(s *step, err error) error {
		return applyErr(s, err, fmt.Sprintf("apply stopped after %d of %d changes", done, len(steps)))
	}
	for _, s := range steps {
		if s.new == nil {
			if err := src.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return stopped(s, err)
			}
			pruneEmpty(src, path.Dir(s.path))
			done++
		}
	}
	for _, s := range steps {
		if s.new == nil {
			continue
		}
		if d := path.Dir(s.path); d != "." {
			if err := src.MkdirAll(d, 0o755); err != nil {
				return stopped(s, err)
			}
		}
		if s.new.Mode == filemode.Symlink {
			if err := src.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return stopped(s, err)
			}
			if err := src.Symlink(s.target, s.path); err != nil {
				return stopped(s, err)
			}
		} else {
			if fi, err := src.Lstat(s.path); err == nil && fi.IsDir() {
				// A directory whose files were all deleted above.
				if err := src.Remove(s.path); err != nil {
					return stopped(s, err)
				}
			}
			if err := src.Rename(s.tmp, s.path); err != nil {
				return stopped(s, err)
			}
			s.tmp = ""
		}
		done++
	}
	return nil
}

// stage writes the new content of s to a temporary file in the nearest
// existing directory of its path.
func (r *reader) stage(src *os.Root, s *step) error {
	o, err := r.blob(s.new.Hash)
	if err != nil {
		return err
	}
	rd, err := o.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	var rnd [8]byte
	rand.Read(rnd[:])
	s.tmp = path.Join(existingDir(src, s.path), ".clauderon-apply-"+hex.EncodeToString(rnd[:]))
	mode := fs.FileMode(0o644)
	if s.new.Mode == filemode.Executable {
		mode = 0o755
	}
	f, err := src.OpenFile(s.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		s.tmp = ""
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// applyErr says which path failed. An error of the workspace's layers is
// wrapped (its message is already quoted); an os error, which names the
// agent's path raw, is quoted.
func applyErr(s *step, err error, what string) error {
	if errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("applying %s: %w; %s", quote(s.path), err, what)
	}
	return fmt.Errorf("applying %s: %s; %s", quote(s.path), quote(err.Error()), what)
}

// existingDir is the deepest directory above p that exists now.
func existingDir(src *os.Root, p string) string {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if fi, err := src.Lstat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return "."
}

// pruneEmpty removes dir and its parents while they are empty, never the
// top.
func pruneEmpty(src *os.Root, dir string) {
	for ; dir != "." && dir != "/" && dir != ""; dir = path.Dir(dir) {
		if src.Remove(dir) != nil {
			return
		}
	}
}
