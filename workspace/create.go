package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The identity of the commits clauderon makes itself (the baseline, the
// uncommitted work on land).
const (
	botName  = "clauderon"
	botEmail = "clauderon@localhost"
)

var botIdentity = []string{
	"GIT_AUTHOR_NAME=" + botName, "GIT_AUTHOR_EMAIL=" + botEmail,
	"GIT_COMMITTER_NAME=" + botName, "GIT_COMMITTER_EMAIL=" + botEmail,
}

// Create makes the workspace. On error nothing is left at o.Dir.
func Create(ctx context.Context, o CreateOptions) (info Info, err error) {
	if !filepath.IsAbs(o.Source) {
		return Info{}, errorf(ErrInvalid, "source %s is not an absolute path", quote(o.Source))
	}
	if !filepath.IsAbs(o.Dir) {
		return Info{}, errorf(ErrInvalid, "workspace directory %s is not an absolute path", quote(o.Dir))
	}
	if err := validBranch(o.Branch); err != nil {
		return Info{}, err
	}
	if o.From != "" {
		if err := validFrom(o.From); err != nil {
			return Info{}, err
		}
	}
	if err := validIncludes(o.Includes); err != nil {
		return Info{}, err
	}
	if _, err := lookGit(); err != nil {
		return Info{}, err
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}

	repo, err := findRepo(ctx, o.Source)
	if err != nil {
		return Info{}, err
	}
	// What is checked is what is read: a plain directory is read at its
	// resolved path too.
	var check Repo
	if repo != nil {
		check = Repo{Top: repo.top, GitDir: repo.gitDir, CommonDir: repo.commonDir, ObjectsDir: repo.objects}
	} else if check.Top, err = filepath.EvalSymlinks(o.Source); err != nil {
		return Info{}, errorf(ErrInvalid, "%s cannot be read: %v", quote(o.Source), err)
	}
	if o.CheckRepo != nil {
		// Before git reads any of the repository's config or attributes.
		if err := o.CheckRepo(check); err != nil {
			return Info{}, err
		}
	}

	if err := os.Mkdir(o.Dir, 0o755); err != nil {
		return Info{}, fmt.Errorf("creating the workspace: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(o.Dir)
		}
	}()
	// The container's user needs to enter it whatever our umask.
	if err := os.Chmod(o.Dir, 0o755); err != nil {
		return Info{}, err
	}
	if err := makeGitDir(filepath.Join(o.Dir, ".git"), o.Branch); err != nil {
		return Info{}, fmt.Errorf("creating the workspace's repository: %w", err)
	}

	start := time.Now()
	if repo != nil {
		info, err = createFromRepo(ctx, o, repo, progress)
	} else {
		info, err = createFromDir(ctx, o, check.Top, progress)
	}
	if err != nil {
		return Info{}, err
	}
	info.Dir, info.Branch = o.Dir, o.Branch

	files, size, err := finishTree(o)
	if err != nil {
		return Info{}, err
	}
	progress(fmt.Sprintf("copied %d files (%s) in %s", files, humanSize(size), time.Since(start).Round(time.Millisecond)))
	return info, nil
}

// resolved is p with symlinks resolved, or p when that fails.
func resolved(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// userRepo is where the user's repository keeps things, as git says, with
// symlinks resolved.
type userRepo struct {
	top       string // the work tree's top level
	gitDir    string // absolute; a linked worktree's own
	commonDir string // the common git directory
	objects   string // the (common) object store
	index     string
	shallow   string
}

// findRepo asks git whether dir is in a repository; nil when it is not.
func findRepo(ctx context.Context, dir string) (*userRepo, error) {
	g := gitCmd{dir: dir}
	out, err := g.run(ctx, "rev-parse", "--is-inside-git-dir", "--is-bare-repository", "--absolute-git-dir",
		"--git-path", "objects", "--git-path", "index", "--git-path", "shallow", "--show-object-format", "--git-common-dir")
	if err != nil {
		msg := gitStderr(err)
		switch {
		case exitCode(err) == 128 && strings.Contains(msg, "not a git repository"):
			return nil, nil
		case strings.Contains(msg, "dubious ownership"):
			return nil, errorf(ErrInvalid, "git refuses %s because another user owns it: %s", dir, truncate(strings.TrimSpace(msg), 1000))
		}
		return nil, fmt.Errorf("finding the repository of %s: %w", dir, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 8 {
		return nil, fmt.Errorf("finding the repository of %s: unexpected output from git rev-parse: %q", dir, truncate(string(out), 500))
	}
	if lines[0] == "true" || lines[1] == "true" {
		return nil, errorf(ErrInvalid, "%s is inside a git directory or a bare repository; pass the directory of a working tree", dir)
	}
	if lines[6] != "sha1" {
		return nil, errorf(ErrInvalid, "%s uses %s object names; only sha1 repositories are supported", dir, quote(lines[6]))
	}
	// git prints relative paths from its working directory, which the
	// kernel holds resolved: join them to dir resolved, or a ".." after a
	// symlink would lead elsewhere.
	cwd, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("finding the repository of %s: %w", dir, err)
	}
	abs := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		return filepath.Clean(p)
	}
	// git prints these as text, symlinks and all; a git directory or an
	// object store reached through a symlink is checked (CheckRepo) and
	// mounted at the place the link leads to now, so that swapping the link
	// later changes nothing (and a link into a directory a container can
	// write is seen for what it is).
	resolve := func(what, p string) (string, error) {
		r, err := filepath.EvalSymlinks(abs(p))
		if err != nil {
			return "", errorf(ErrInvalid, "the %s of %s cannot be resolved: %v", what, dir, err)
		}
		return r, nil
	}
	r := &userRepo{index: abs(lines[4]), shallow: abs(lines[5])}
	for _, c := range []struct {
		dst        *string
		what, path string
	}{
		{&r.gitDir, "git directory", lines[2]},
		{&r.objects, "object store", lines[3]},
		{&r.commonDir, "common git directory", lines[7]},
	} {
		if *c.dst, err = resolve(c.what, c.path); err != nil {
			return nil, err
		}
	}
	if filepath.Base(r.objects) != "objects" {
		return nil, errorf(ErrInvalid, "the object store of %s is at %s, not in a git directory", dir, r.objects)
	}
	top, err := g.run(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("finding the top of the repository of %s: %w", dir, err)
	}
	r.top = filepath.Clean(strings.TrimRight(string(top), "\n"))
	if !filepath.IsAbs(r.top) {
		return nil, fmt.Errorf("finding the top of the repository of %s: git printed %q", dir, truncate(r.top, 500))
	}
	if r.top, err = resolve("top level", r.top); err != nil {
		return nil, err
	}
	alt, err := os.ReadFile(filepath.Join(r.objects, "info", "alternates"))
	if err == nil && len(bytes.TrimSpace(alt)) > 0 {
		// The container gets only this object store; objects borrowed from
		// elsewhere would be missing there.
		return nil, errorf(ErrInvalid, "%s borrows objects from another repository (objects/info/alternates); run `git repack -a -d` in it first", r.top)
	}
	return r, nil
}

// createFromRepo copies a repository: its HEAD (or From) plus, without From,
// what the user has not committed, as the baseline commit.
func createFromRepo(ctx context.Context, o CreateOptions, r *userRepo, progress func(string)) (Info, error) {
	wsGit := filepath.Join(o.Dir, ".git")
	index := filepath.Join(wsGit, "index")
	// New objects go to the workspace; the user's store is only read, and
	// the user's index is never the one written.
	env := []string{
		"GIT_DIR=" + r.gitDir,
		"GIT_INDEX_FILE=" + index,
		"GIT_OBJECT_DIRECTORY=" + filepath.Join(wsGit, "objects"),
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=" + r.objects,
	}
	user := gitCmd{dir: r.top, env: append(append([]string{}, env...), "GIT_WORK_TREE="+r.top)}
	info := Info{Source: r.top, Git: true, GitDir: r.gitDir, CommonDir: r.commonDir, ObjectsDir: r.objects}
	// git prints the top level with symlinks resolved.
	if rel, err := filepath.Rel(r.top, resolved(o.Source)); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
		info.Subdir = filepath.ToSlash(rel)
	}

	var err error
	if o.From == "" {
		if info.Base, err = revParseCommit(ctx, user, "HEAD"); err != nil {
			return Info{}, err
		}
		// A copy of the user's index lends `add` its stat cache and its
		// staged changes.
		if err := copyFile(r.index, index); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Info{}, fmt.Errorf("copying the index of %s: %w", r.top, err)
		}
		progress(fmt.Sprintf("reading the working tree of %s…", r.top))
		if _, err := user.run(ctx, "add", "-A"); err != nil {
			return Info{}, fmt.Errorf("reading the working tree of %s: %w", r.top, err)
		}
		tree, err := gitLine(ctx, user, "write-tree")
		if err != nil {
			return Info{}, err
		}
		baseTree := ""
		if info.Base != "" {
			if baseTree, err = gitLine(ctx, user, "rev-parse", "--verify", info.Base+"^{tree}"); err != nil {
				return Info{}, err
			}
		}
		info.Baseline = info.Base
		if tree != baseTree {
			args := []string{"commit-tree", tree, "-m", "clauderon: uncommitted changes in " + r.top + " when session started"}
			if info.Base != "" {
				args = append(args, "-p", info.Base)
			}
			c := user
			c.env = append(append([]string{}, user.env...), botIdentity...)
			if info.Baseline, err = gitLine(ctx, c, args...); err != nil {
				return Info{}, err
			}
		}
	} else {
		base, err := revParseCommit(ctx, user, o.From)
		if err != nil {
			return Info{}, err
		}
		if base == "" {
			return Info{}, errorf(ErrInvalid, "no commit named %s in %s", quote(o.From), r.top)
		}
		info.Base, info.Baseline = base, base
	}

	if err := checkout(ctx, o, env, info.Baseline, r.top, progress); err != nil {
		return Info{}, err
	}
	if len(o.Includes) > 0 {
		if err := copyIncludes(ctx, user, r.top, o.Dir, o.Includes); err != nil {
			return Info{}, err
		}
	}
	if err := copyFile(r.shallow, filepath.Join(wsGit, "shallow")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("copying the shallow file of %s: %w", r.top, err)
	}
	if err := writeBranch(wsGit, o.Branch, info.Baseline); err != nil {
		return Info{}, err
	}
	// Last: it names a path that exists only in the container, and before
	// it is written the workspace's repository is incomplete.
	alt := filepath.Join(wsGit, "objects", "info", "alternates")
	if err := os.WriteFile(alt, []byte(ContainerObjects+"\n"), 0o644); err != nil {
		return Info{}, err
	}
	return info, nil
}

// createFromDir copies a directory that is not in a repository (src, its
// resolved path): everything not ignored by .gitignore files in it becomes
// the baseline, a root commit in the workspace's own object store.
func createFromDir(ctx context.Context, o CreateOptions, src string, progress func(string)) (Info, error) {
	wsGit := filepath.Join(o.Dir, ".git")
	env := []string{"GIT_DIR=" + wsGit}
	g := gitCmd{dir: src, env: append(append([]string{}, env...), "GIT_WORK_TREE="+src)}

	limit := o.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	progress(fmt.Sprintf("listing the files of %s…", src))
	out, err := g.run(ctx, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return Info{}, fmt.Errorf("listing the files of %s: %w", src, err)
	}
	files := splitNUL(out)
	root, err := os.OpenRoot(src)
	if err != nil {
		return Info{}, err
	}
	defer root.Close()
	var size int64
	for i, f := range files {
		if fi, err := root.Lstat(strings.TrimSuffix(f, "/")); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		if (i+1)%20000 == 0 {
			progress(fmt.Sprintf("listed %d of %d files (%s so far)…", i+1, len(files), humanSize(size)))
		}
	}
	if size > limit {
		return Info{}, errorf(ErrTooBig, "%s holds %s in %d files, more than the limit of %s (workspace.max_copy_bytes in config.json); pass a smaller directory or raise the limit", src, humanSize(size), len(files), humanSize(limit))
	}
	progress(fmt.Sprintf("copying %d files (%s) from %s…", len(files), humanSize(size), src))
	if _, err := g.run(ctx, "add", "-A"); err != nil {
		return Info{}, fmt.Errorf("reading %s: %w", src, err)
	}
	tree, err := gitLine(ctx, g, "write-tree")
	if err != nil {
		return Info{}, err
	}
	c := g
	c.env = append(append([]string{}, g.env...), botIdentity...)
	baseline, err := gitLine(ctx, c, "commit-tree", tree, "-m", "clauderon: contents of "+src+" when session started")
	if err != nil {
		return Info{}, err
	}
	if err := checkout(ctx, o, env, baseline, "", func(string) {}); err != nil {
		return Info{}, err
	}
	if len(o.Includes) > 0 {
		if err := copyIncludes(ctx, g, src, o.Dir, o.Includes); err != nil {
			return Info{}, err
		}
	}
	if err := writeBranch(wsGit, o.Branch, baseline); err != nil {
		return Info{}, err
	}
	return Info{Source: src, Baseline: baseline}, nil
}

// checkout writes the baseline's files into the workspace, through a fresh
// index of the workspace (so no skip-worktree or assume-unchanged bit of the
// user's index leaves a file out).
func checkout(ctx context.Context, o CreateOptions, env []string, commit, repo string, progress func(string)) error {
	index := filepath.Join(o.Dir, ".git", "index")
	if err := os.Remove(index); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	g := gitCmd{dir: o.Dir, env: append(append([]string{}, env...), "GIT_WORK_TREE="+o.Dir)}
	// The workspace gets every file, whatever sparse checkout the user has.
	full := []string{"-c", "core.sparseCheckout=false", "-c", "index.sparse=false"}
	if _, err := g.run(ctx, append(full, "read-tree", commit)...); err != nil {
		return fmt.Errorf("reading the baseline: %w", err)
	}
	if repo != "" {
		progress(fmt.Sprintf("copying %d files from %s…", indexEntries(index), repo))
	}
	// Parallel checkout: on a disk that creates files slowly, writing them
	// one at a time was 5 to 10 times slower than eight workers (measured on
	// 20,000 files: 10.2 s against 1.1 s; one per core, 1.6 s).
	if _, err := g.run(ctx, append(full, "-c", "checkout.workers=8", "checkout-index", "-a", "-f", "-u")...); err != nil {
		return fmt.Errorf("writing the workspace's files: %w", err)
	}
	return nil
}

// revParseCommit resolves rev to a commit; "" when there is none (an
// unborn HEAD, an unknown name).
func revParseCommit(ctx context.Context, g gitCmd, rev string) (string, error) {
	out, err := g.run(ctx, "rev-parse", "-q", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", nil
		}
		return "", err
	}
	h := strings.TrimSpace(string(out))
	if !isHex40(h) {
		return "", fmt.Errorf("git rev-parse printed %q for %s", truncate(h, 100), quote(rev))
	}
	return h, nil
}

// gitLine runs git and returns the one line it prints.
func gitLine(ctx context.Context, g gitCmd, args ...string) (string, error) {
	out, err := g.run(ctx, args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
