package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Landing copies the agent's objects into the user's repository through
// `git index-pack --strict`, so git's own fsck refuses what git would not
// accept from a remote (trees holding .git, "..", malformed entries,
// dangerous .gitmodules); then one compare-and-swap `update-ref` makes the
// branch. The user's HEAD, index and working tree are not touched.

// maxLandObjects bounds how many new objects one land copies.
const maxLandObjects = 2_000_000

const zeroHash = "0000000000000000000000000000000000000000"

// Land makes the work (its uncommitted part as one more commit) a branch of
// the user's repository, leaving the user's checkout and working tree alone.
func (i Info) Land(ctx context.Context, o LandOptions) (Mark, error) {
	if !i.Git {
		return Mark{}, errorf(ErrNotGit, "%s is not a git repository, so there is no branch to land on; bring the work back with `clauderon apply %s`", i.Source, strings.TrimPrefix(i.Branch, "clauderon/"))
	}
	branch := o.Branch
	if branch == "" {
		branch = i.Branch
	}
	if err := validBranch(branch); err != nil {
		return Mark{}, err
	}
	if err := validTree(o.Tree); err != nil {
		return Mark{}, err
	}
	ref := "refs/heads/" + branch
	user := gitCmd{dir: i.GitDir, env: []string{"GIT_DIR=" + i.GitDir}}
	if _, err := user.run(ctx, "check-ref-format", ref); err != nil {
		if exitCode(err) == 1 {
			return Mark{}, errorf(ErrInvalid, "git does not accept %s as a branch name", quote(branch))
		}
		return Mark{}, err
	}
	if err := checkedOut(ctx, user, ref, i.Source, branch); err != nil {
		return Mark{}, err
	}
	old, err := gitLine(ctx, user, "rev-parse", "-q", "--verify", ref)
	switch {
	case exitCode(err) == 1:
		old = zeroHash
	case err != nil:
		return Mark{}, err
	case !o.Force:
		return Mark{}, errorf(ErrConflict, "branch %s already exists in %s; pass --force to overwrite it, or --branch NAME", branch, i.Source)
	}

	r, w, err := i.reviewedWork(ctx, o.Tree)
	if err != nil {
		return Mark{}, err
	}
	defer r.Close()
	// The branch is checked out later, and git run in a directory of it
	// would obey what the agent planted there.
	written, err := r.written(ctx, w.baseline.TreeHash, w.tree)
	if err != nil {
		return Mark{}, err
	}
	if err := r.noNestedRepo(w.tree, written, false, nil, "landed"); err != nil {
		return Mark{}, err
	}
	objs, err := r.missing(ctx, w.final)
	if err != nil {
		return Mark{}, err
	}
	if len(objs) > 0 {
		if err := r.indexPack(ctx, user, objs); err != nil {
			return Mark{}, err
		}
	}
	// --no-deref: a symbolic branch must not move the branch it names.
	if _, err := user.run(ctx, "update-ref", "--no-deref", "-m", "clauderon: land "+branch, ref, w.final.String(), old); err != nil {
		if exitCode(err) > 0 {
			// Most likely the branch moved since we looked (the update is a
			// compare-and-swap).
			return Mark{}, errorf(ErrConflict, "setting branch %s in %s: %v", branch, i.Source, err)
		}
		return Mark{}, fmt.Errorf("setting branch %s in %s: %w", branch, i.Source, err)
	}
	return Mark{Tree: w.tree.String(), Commit: w.final.String(), Branch: branch, At: time.Now()}, nil
}

// checkedOut refuses a branch that is checked out in the user's repository
// (in any of its worktrees): moving it would change that checkout.
func checkedOut(ctx context.Context, user gitCmd, ref, repo, branch string) error {
	out, err := user.run(ctx, "worktree", "list", "--porcelain")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "branch "+ref {
			return errorf(ErrConflict, "branch %s is checked out in %s, and landing on it would change your checkout; pass --branch NAME", branch, repo)
		}
	}
	return nil
}

// missing lists the objects reachable from final that the user's
// repository lacks: commits until one the user has, and for each its tree,
// skipping subtrees the user has.
func (r *reader) missing(ctx context.Context, final plumbing.Hash) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{final}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		seen[h] = true
		if in, err := r.objs.inUser(h); err != nil || in {
			if err != nil {
				return nil, err
			}
			continue
		}
		c, err := r.commit(h)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
		if len(out) > maxLandObjects {
			return nil, fmt.Errorf("the work holds more than %d new objects, more than one land copies", maxLandObjects)
		}
		if out, err = r.missingTree(c.TreeHash, seen, out); err != nil {
			return nil, err
		}
		queue = append(queue, c.ParentHashes...)
	}
	return out, nil
}

func (r *reader) missingTree(h plumbing.Hash, seen map[plumbing.Hash]bool, out []plumbing.Hash) ([]plumbing.Hash, error) {
	if seen[h] {
		return out, nil
	}
	seen[h] = true
	if in, err := r.objs.inUser(h); err != nil || in {
		return out, err
	}
	t, err := r.tree(h)
	if err != nil {
		return nil, err
	}
	out = append(out, h)
	for _, e := range t.Entries {
		if len(out) > maxLandObjects {
			return nil, fmt.Errorf("the work holds more than %d new objects, more than one land copies", maxLandObjects)
		}
		switch e.Mode {
		case filemode.Dir:
			if out, err = r.missingTree(e.Hash, seen, out); err != nil {
				return nil, err
			}
		case filemode.Submodule:
			// Another repository's commit; not ours to copy.
		default:
			if seen[e.Hash] {
				continue
			}
			seen[e.Hash] = true
			in, err := r.objs.inUser(e.Hash)
			if err != nil {
				return nil, err
			}
			if in {
				continue
			}
			if ok, err := r.objs.has(e.Hash); err != nil || !ok {
				if err != nil {
					return nil, err
				}
				return nil, corrupt("blob %s (%s) is not in the workspace", e.Hash, quote(e.Name))
			}
			out = append(out, e.Hash)
		}
	}
	return out, nil
}

// errReaderGone stops the pack writer once git has exited.
var errReaderGone = errors.New("git index-pack exited")

// indexPack streams the objects as a pack into the user's repository.
func (r *reader) indexPack(ctx context.Context, user gitCmd, objs []plumbing.Hash) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := writePack(pw, r.objs, objs)
		pw.CloseWithError(err)
		done <- err
	}()
	g := user
	g.stdin = pr
	_, err := g.run(ctx, "index-pack", "--stdin", "--strict", "--fix-thin")
	pr.CloseWithError(errReaderGone)
	if werr := <-done; werr != nil && !errors.Is(werr, errReaderGone) {
		return fmt.Errorf("packing the work: %w", werr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// git's fsck names what it refused; the names are the agent's.
		return errorf(ErrCorrupt, "git refused the work's objects: %s", quote(strings.TrimSpace(gitStderr(err))))
	}
	return nil
}
