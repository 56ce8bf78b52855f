package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Diff, Summarize, Land and Apply read the workspace the same way: never
// with the host's git (which would obey the workspace's config, hooks and
// attributes), only through gitFS and wsObjects, whose every object is
// checked against its name.

// reader is a workspace opened for one call.
type reader struct {
	info Info
	dir  *os.Root // <Dir>
	git  *os.Root // <Dir>/.git
	refs *filesystem.Storage
	objs *layered
	// cache, when set, is the hash cache the scan of the working tree uses.
	cache *HashCache
}

func (i Info) open() (*reader, error) {
	if i.Dir == "" || !filepath.IsAbs(i.Dir) {
		return nil, errorf(ErrInvalid, "the workspace directory %s is not an absolute path", quote(i.Dir))
	}
	if !isHex40(i.Baseline) {
		return nil, errorf(ErrInvalid, "the workspace has no baseline commit")
	}
	if i.Git && (!filepath.IsAbs(i.GitDir) || !filepath.IsAbs(i.ObjectsDir) || filepath.Base(i.ObjectsDir) != "objects") {
		return nil, errorf(ErrInvalid, "the workspace does not say where its source repository keeps its objects")
	}
	dir, err := os.OpenRoot(i.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening the workspace: %w", err)
	}
	// .git must be a directory of the workspace itself: a symlink could lead
	// to any repository on the host, which we would then read as the
	// agent's work.
	fi, err := dir.Lstat(".git")
	if err != nil || !fi.IsDir() {
		dir.Close()
		detail := "it is not a directory"
		if err != nil {
			detail = err.Error()
		}
		return nil, corrupt("the workspace's .git cannot be read; the agent may have broken its repository: %s", quote(detail))
	}
	git, err := dir.OpenRoot(".git")
	if err != nil {
		dir.Close()
		return nil, corrupt("the workspace's .git cannot be opened: %s", quote(err.Error()))
	}
	st := filesystem.NewStorage(&gitFS{root: git, name: filepath.Join(i.Dir, ".git")}, cache.NewObjectLRUDefault())
	r := &reader{
		info: i,
		dir:  dir,
		git:  git,
		refs: st,
		objs: &layered{ws: &wsObjects{git: git, packs: &st.ObjectStorage}, mem: newMemObjects()},
	}
	if i.Git {
		r.objs.user = openUserObjects(i.ObjectsDir)
	}
	return r, nil
}

func (r *reader) Close() {
	r.refs.Close()
	r.git.Close()
	r.dir.Close()
}

// maxSymrefs bounds a chain of symbolic refs from HEAD.
const maxSymrefs = 5

// head resolves the workspace's HEAD to a commit, and names the ref that
// holds it (HEAD itself when detached).
func (r *reader) head() (*object.Commit, plumbing.ReferenceName, error) {
	bad := func(detail string) error {
		return corrupt("the workspace's HEAD cannot be read; the agent may have broken its repository: %s", quote(detail))
	}
	// go-git would report a HEAD it cannot open as merely missing.
	if fi, err := r.git.Lstat("HEAD"); err != nil || !fi.Mode().IsRegular() {
		if err != nil {
			return nil, "", bad(err.Error())
		}
		return nil, "", bad("HEAD is not a regular file")
	}
	name := plumbing.HEAD
	for range maxSymrefs {
		var ref *plumbing.Reference
		err := guard(func() (err error) {
			ref, err = r.refs.Reference(name)
			return err
		})
		if err != nil {
			return nil, "", bad(fmt.Sprintf("%s: %s", quote(string(name)), quote(err.Error())))
		}
		switch ref.Type() {
		case plumbing.HashReference:
			if ref.Hash().IsZero() {
				return nil, "", bad(fmt.Sprintf("%s does not name a commit", quote(string(name))))
			}
			c, err := r.commit(ref.Hash())
			if err != nil {
				return nil, "", fmt.Errorf("the workspace's HEAD (%s): %w", quote(string(name)), err)
			}
			return c, name, nil
		case plumbing.SymbolicReference:
			name = ref.Target()
		default:
			return nil, "", bad("not a reference")
		}
	}
	return nil, "", bad("too many symbolic references")
}

// commit reads a commit by hash from any layer.
func (r *reader) commit(h plumbing.Hash) (*object.Commit, error) {
	o, err := r.objs.EncodedObject(plumbing.CommitObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, corrupt("commit %s is not in the workspace", h)
	}
	if err != nil {
		return nil, err
	}
	var c *object.Commit
	err = guard(func() (err error) {
		c, err = object.DecodeCommit(r.objs, o)
		return err
	})
	if err != nil {
		return nil, corrupt("commit %s in the workspace is malformed: %s", h, quote(err.Error()))
	}
	return c, nil
}

// tree reads a tree by hash from any layer.
func (r *reader) tree(h plumbing.Hash) (*object.Tree, error) {
	return getTree(r.objs, h)
}

func getTree(s storer.EncodedObjectStorer, h plumbing.Hash) (*object.Tree, error) {
	o, err := s.EncodedObject(plumbing.TreeObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, corrupt("tree %s is not in the workspace", h)
	}
	if err != nil {
		return nil, err
	}
	var t *object.Tree
	err = guard(func() (err error) {
		t, err = object.DecodeTree(s, o)
		return err
	})
	if err != nil {
		return nil, corrupt("tree %s in the workspace is malformed: %s", h, quote(err.Error()))
	}
	return t, nil
}

// work is the agent's work: HEAD plus the working tree.
type work struct {
	baseline *object.Commit
	head     *object.Commit
	headRef  plumbing.ReferenceName // the branch HEAD resolves to; HEAD when detached
	tree     plumbing.Hash          // the working tree, as `git add -A` would record it
	// uncommitted says the working tree differs from HEAD; final is then a
	// commit (in memory) of it on top of HEAD, else HEAD itself.
	uncommitted bool
	final       plumbing.Hash
	commits     int // commits from the baseline to HEAD
}

// maxCommitWalk bounds the walk that counts the agent's commits.
const maxCommitWalk = 100000

// reviewedWork opens the workspace and reads the work, which must still be
// the tree the user reviewed (when tree is not ""). Close the reader.
func (i Info) reviewedWork(ctx context.Context, tree string) (*reader, *work, error) {
	r, err := i.open()
	if err != nil {
		return nil, nil, err
	}
	w, err := r.work(ctx)
	if err == nil {
		err = sameTree(tree, w.tree.String())
	}
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, w, nil
}

func (r *reader) work(ctx context.Context) (*work, error) {
	baseline, err := r.commit(plumbing.NewHash(r.info.Baseline))
	if err != nil {
		return nil, fmt.Errorf("the session's baseline: %w", err)
	}
	head, headRef, err := r.head()
	if err != nil {
		return nil, err
	}
	headTree, err := r.tree(head.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("the tree of the workspace's HEAD: %w", err)
	}
	sc := scanner{ctx: ctx, dir: r.dir, git: r.git, objs: r.objs, cache: r.cache}
	tree, err := sc.scan(headTree)
	if err != nil {
		return nil, err
	}
	w := &work{baseline: baseline, head: head, headRef: headRef, tree: tree, final: head.Hash}
	if tree != head.TreeHash {
		w.uncommitted = true
		now := time.Now()
		sig := object.Signature{Name: botName, Email: botEmail, When: now}
		c := &object.Commit{
			Author:       sig,
			Committer:    sig,
			Message:      fmt.Sprintf("clauderon: uncommitted work in session %s\n", r.info.Branch),
			TreeHash:     tree,
			ParentHashes: []plumbing.Hash{head.Hash},
		}
		o := &plumbing.MemoryObject{}
		if err := c.Encode(o); err != nil {
			return nil, err
		}
		r.objs.mem.set(o)
		w.final = o.Hash()
	}
	w.commits, err = r.countCommits(ctx, head, baseline.Hash)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// countCommits counts first parents from c back to the baseline. It is
// informational: when the baseline is not an ancestor it says how many
// commits were walked.
func (r *reader) countCommits(ctx context.Context, c *object.Commit, baseline plumbing.Hash) (int, error) {
	n := 0
	for c.Hash != baseline && n < maxCommitWalk {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n++
		if len(c.ParentHashes) == 0 {
			break
		}
		p, err := r.commit(c.ParentHashes[0])
		if err != nil {
			// A shallow history ends without its parents.
			break
		}
		c = p
	}
	return n, nil
}
