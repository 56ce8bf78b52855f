package workspace

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Work is lost with the workspace when it is on no branch land brings back:
// the agent ran `git checkout -b feature; git commit; git stash -u; git
// checkout clauderon/<name>`, and its work was in neither HEAD nor the
// working tree. So Summarize lists the other branches and the stash.

const (
	maxRefsRead  = 100000 // loose and packed refs under refs/heads, read
	maxOtherRefs = 1000   // refs listed in Summary.OtherRefs
	maxRefName   = 256    // bytes of one name listed
	maxRefFile   = 1024   // bytes of one loose ref
)

// otherRefs lists the branches (but HEAD's) and the stash whose commit
// is none of the ones land accounts for. They are read from the workspace's
// .git by hand, loose and packed, like everything else of it.
func (r *reader) otherRefs(ctx context.Context, w *work) ([]string, error) {
	refs := map[string]string{} // name: what it holds
	read := 0
	b, err := readSmall(r.git, "packed-refs", maxSmallFile)
	switch {
	case err == nil:
		for _, line := range strings.Split(string(b), "\n") {
			hash, name, ok := strings.Cut(strings.TrimSuffix(line, "\r"), " ")
			if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "^") || !counted(name) {
				continue
			}
			if read++; read > maxRefsRead {
				return nil, tooManyRefs()
			}
			refs[name] = hash
		}
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular):
	default:
		return nil, corrupt("the workspace's .git/packed-refs cannot be read: %s", quote(err.Error()))
	}
	// A loose ref overrides a packed one of the same name.
	loose := func(name string) error {
		b, err := readSmall(r.git, name, maxRefFile)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular) {
				return nil
			}
			return corrupt("the workspace's ref %s cannot be read: %s", quote(name), quote(err.Error()))
		}
		if read++; read > maxRefsRead {
			return tooManyRefs()
		}
		refs[name] = strings.TrimSpace(string(b))
		return nil
	}
	if err := loose("refs/stash"); err != nil {
		return nil, err
	}
	entries := 0
	if err := r.walkRefs(ctx, "refs/heads", 0, &entries, loose); err != nil {
		return nil, err
	}

	skip := map[string]bool{r.info.Baseline: true, w.head.Hash.String(): true}
	if r.info.Landed != nil {
		skip[r.info.Landed.Commit] = true
	}
	var out []string
	for name, hash := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// A symbolic ref (or a broken one) holds no commit of its own.
		if name == string(w.headRef) || !isHex40(hash) || skip[hash] {
			continue
		}
		in, err := r.objs.inUser(plumbing.NewHash(hash))
		if err != nil {
			return nil, err
		}
		if !in {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	if len(out) > maxOtherRefs {
		out = out[:maxOtherRefs]
	}
	for i, name := range out {
		if len(name) > maxRefName {
			out[i] = truncate(name, maxRefName-len("..."))
		}
	}
	return out, nil
}

// counted says whether a ref is one otherRefs looks at.
func counted(name string) bool {
	return name == "refs/stash" || strings.HasPrefix(name, "refs/heads/")
}

func tooManyRefs() error {
	return corrupt("the workspace holds more than %d branches, more than we read", maxRefsRead)
}

// walkRefs calls f with every regular file below dir of .git (symlinks,
// FIFOs and the like are no refs); entries counts what it listed, against
// maxRefsRead.
func (r *reader) walkRefs(ctx context.Context, dir string, depth int, entries *int, f func(name string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if depth > maxScanDepth {
		return corrupt("the workspace's %s is nested more than %d directories deep", quote(truncate(dir, 100)), maxScanDepth)
	}
	d, err := r.git.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return corrupt("the workspace's %s cannot be read: %s", quote(dir), quote(err.Error()))
	}
	defer d.Close()
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		return nil
	}
	for {
		ents, err := d.ReadDir(1000)
		for _, e := range ents {
			if *entries++; *entries > maxRefsRead {
				return tooManyRefs()
			}
			name := dir + "/" + e.Name()
			switch {
			case e.IsDir():
				if err := r.walkRefs(ctx, name, depth+1, entries, f); err != nil {
					return err
				}
			case e.Type().IsRegular():
				if err := f(name); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return corrupt("the workspace's %s cannot be read: %s", quote(dir), quote(err.Error()))
		}
	}
}

// unlanded says whether a summary holds work land or apply did not bring
// back.
func (i Info) unlanded(s Summary) bool {
	changed := s.Files > 0 &&
		(i.Landed == nil || i.Landed.Tree != s.Tree) &&
		(i.Applied == nil || i.Applied.Tree != s.Tree)
	return changed || len(s.OtherRefs) > 0
}
