package workspace

import (
	"context"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// A directory holding HEAD next to objects, refs or config is a git
// directory to git, with no .git in sight: git run in it, or below it, uses
// it and obeys its config (core.fsmonitor, with core.worktree pointing back
// at the directory). The agent wrote tools/cache/{HEAD,config,objects/,refs/}
// with an fsmonitor command, apply wrote it into the user's tree, and the
// user's `git status` there ran it. So neither apply nor land brings back a
// change below such a directory. Only the directories above the work's
// changes are looked at: a fixture of the user's elsewhere is theirs.

// written lists the paths the work adds or modifies.
func (r *reader) written(ctx context.Context, from, to plumbing.Hash) ([]string, error) {
	changes, err := r.rawChanges(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return nil, err
		}
		if action != merkletrie.Delete {
			out = append(out, ch.To.Name)
		}
	}
	return out, nil
}

// noNestedRepo refuses the work if a directory above one of paths looks
// like a git directory in the work's tree (or, with disk, in the user's
// working tree the work is written to, for apply). top says whether the top
// directory counts too (a plain directory's, which has no .git of its own).
// verb says what was not done: "applied", "landed".
func (r *reader) noNestedRepo(tree plumbing.Hash, paths []string, top bool, disk *os.Root, verb string) error {
	root, err := r.tree(tree)
	if err != nil {
		return err
	}
	trees := map[string]*object.Tree{"": root}
	checked := map[string]bool{}
	var treeAt func(dir string) (*object.Tree, error)
	treeAt = func(dir string) (*object.Tree, error) {
		if t, ok := trees[dir]; ok {
			return t, nil
		}
		parent := path.Dir(dir)
		if parent == "." {
			parent = ""
		}
		pt, err := treeAt(parent)
		if err != nil || pt == nil {
			return nil, err
		}
		var t *object.Tree
		for _, e := range pt.Entries {
			if e.Name == path.Base(dir) && e.Mode == filemode.Dir {
				if t, err = r.tree(e.Hash); err != nil {
					return nil, err
				}
				break
			}
		}
		trees[dir] = t
		return t, nil
	}
	for _, p := range paths {
		var dirs []string
		if top {
			dirs = append(dirs, "")
		}
		for i := 0; i < len(p); i++ {
			if p[i] == '/' {
				dirs = append(dirs, p[:i])
			}
		}
		for _, d := range dirs {
			if checked[d] {
				continue
			}
			checked[d] = true
			t, err := treeAt(d)
			if err != nil {
				return err
			}
			if looksLikeGitDir(t, disk, d) {
				name := d
				if name == "" {
					name = "."
				}
				return errorf(ErrInvalid, "the work holds %s, which looks like a git repository (HEAD, objects, refs): git commands run there would obey its config; it was not %s", quote(name), verb)
			}
		}
	}
	return nil
}

// gitDirEntry says what a name in a directory counts for, as git's
// is_git_directory sees it (and case-insensitively, as on macOS): HEAD, or
// one of what must be next to it.
func gitDirEntry(name string) (head, other bool) {
	switch strings.ToLower(name) {
	case "head":
		return true, false
	case "objects", "refs", "config", "commondir":
		return false, true
	}
	return false, false
}

// looksLikeGitDir says whether directory dir holds a HEAD (a file or a
// symlink) and an objects, refs, config or commondir (anything: a symlink
// to a directory, or a submodule's empty directory, serve as well), in the
// work's tree t (nil when absent there) or on disk.
func looksLikeGitDir(t *object.Tree, disk *os.Root, dir string) bool {
	var head, other bool
	if t != nil {
		for _, e := range t.Entries {
			h, o := gitDirEntry(e.Name)
			head = head || h && e.Mode != filemode.Dir && e.Mode != filemode.Submodule
			other = other || o
		}
	}
	if disk != nil {
		if !head {
			fi, err := disk.Lstat(path.Join(dir, "HEAD"))
			head = err == nil && !fi.IsDir()
		}
		for _, n := range []string{"objects", "refs", "config", "commondir"} {
			if other {
				break
			}
			_, err := disk.Lstat(path.Join(dir, n))
			other = err == nil
		}
	}
	return head && other
}
