package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/go-git/go-git/v5/utils/merkletrie"
	dmp "github.com/sergi/go-diff/diffmatchpatch"
)

const (
	defaultMaxPatchBytes = 8 << 20
	sniffBytes           = 8000 // git's look for a NUL that makes a file binary
	diffTimeout          = 5 * time.Second
)

// Change statuses.
const (
	StatusAdded    = "added"
	StatusModified = "modified"
	StatusDeleted  = "deleted"
	StatusRenamed  = "renamed"
)

// renameOptions detect renames as git does by default, bounded so that a
// tree with thousands of added and deleted files stays cheap.
var renameOptions = &object.DiffTreeOptions{DetectRenames: true, RenameScore: 60, RenameLimit: 400}

// Diff computes the agent's work.
func (i Info) Diff(ctx context.Context, o DiffOptions) (Diff, error) {
	r, err := i.open()
	if err != nil {
		return Diff{}, err
	}
	defer r.Close()
	r.cache = o.Cache
	w, err := r.work(ctx)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{
		Baseline:    i.Baseline,
		Head:        w.head.Hash.String(),
		Tree:        w.tree.String(),
		Commits:     w.commits,
		Uncommitted: w.uncommitted,
		Files:       []Change{},
	}
	changes, err := r.changes(ctx, w.baseline.TreeHash, w.tree)
	if err != nil {
		return Diff{}, err
	}
	budget := o.MaxPatchBytes
	if budget <= 0 {
		budget = defaultMaxPatchBytes
	}
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return Diff{}, err
		}
		c, err := r.describe(ch)
		if err != nil {
			return Diff{}, err
		}
		if o.Patches && !c.Binary && !isGitlink(ch) {
			text, fits, err := r.patch(ctx, ch, &c, budget)
			if err != nil {
				return Diff{}, err
			}
			if !fits {
				d.Truncated = true
			}
			budget -= len(text)
			c.Patch = text
		}
		d.Additions += c.Additions
		d.Deletions += c.Deletions
		d.Files = append(d.Files, c)
	}
	sort.Slice(d.Files, func(a, b int) bool { return d.Files[a].Path < d.Files[b].Path })
	return d, nil
}

// Summarize is Diff without patches, reduced to what `list` shows. cache,
// when not nil, is as DiffOptions.Cache.
func (i Info) Summarize(ctx context.Context, cache *HashCache) (Summary, error) {
	r, err := i.open()
	if err != nil {
		return Summary{}, err
	}
	defer r.Close()
	r.cache = cache
	w, err := r.work(ctx)
	if err != nil {
		return Summary{}, err
	}
	changes, err := r.changes(ctx, w.baseline.TreeHash, w.tree)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Files: len(changes), Tree: w.tree.String()}
	if s.OtherRefs, err = r.otherRefs(ctx, w); err != nil {
		return Summary{}, err
	}
	s.Unlanded = i.unlanded(s)
	return s, nil
}

// rawChanges lists the file changes from one tree to another, each path
// once (no renames).
func (r *reader) rawChanges(ctx context.Context, from, to plumbing.Hash) (object.Changes, error) {
	a, err := r.tree(from)
	if err != nil {
		return nil, err
	}
	b, err := r.tree(to)
	if err != nil {
		return nil, err
	}
	var changes object.Changes
	err = guard(func() (err error) {
		changes, err = object.DiffTreeWithOptions(ctx, a, b, nil)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("comparing the baseline with the work: %w", err)
	}
	return changes, nil
}

// changes lists the file changes from one tree to another, renames found.
func (r *reader) changes(ctx context.Context, from, to plumbing.Hash) (object.Changes, error) {
	changes, err := r.rawChanges(ctx, from, to)
	if err != nil {
		return nil, err
	}
	// go-git's rename detection refuses a path it would not check out (a
	// control character, a .git); such a change is listed as it is.
	var plain, odd object.Changes
	for _, ch := range changes {
		if renameable(ch.From.Name) && renameable(ch.To.Name) {
			plain = append(plain, ch)
		} else {
			odd = append(odd, ch)
		}
	}
	var renamed object.Changes
	if err := guard(func() (err error) {
		renamed, err = object.DetectRenames(plain, renameOptions)
		return err
	}); err != nil {
		renamed = plain
	}
	return append(renamed, odd...), nil
}

// renameable says whether go-git's rename detection accepts a path.
func renameable(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' || p[i] == ':' {
			return false
		}
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." || isDotGit(c) {
			return false
		}
	}
	return true
}

func isGitlink(ch *object.Change) bool {
	return ch.From.TreeEntry.Mode == filemode.Submodule || ch.To.TreeEntry.Mode == filemode.Submodule
}

// modeString prints a git mode as git does: 100644.
func modeString(m filemode.FileMode) string { return fmt.Sprintf("%o", uint32(m)) }

// describe fills everything of a Change but its patch.
func (r *reader) describe(ch *object.Change) (Change, error) {
	action, err := ch.Action()
	if err != nil {
		return Change{}, err
	}
	var c Change
	switch action {
	case merkletrie.Insert:
		c.Status, c.Path = StatusAdded, ch.To.Name
	case merkletrie.Delete:
		c.Status, c.Path = StatusDeleted, ch.From.Name
	default:
		c.Status, c.Path = StatusModified, ch.To.Name
		if ch.From.Name != ch.To.Name {
			c.Status, c.OldPath = StatusRenamed, ch.From.Name
		}
	}
	var heads [2][]byte
	for i, e := range []object.ChangeEntry{ch.From, ch.To} {
		if e.Name == "" {
			continue
		}
		mode, size := modeString(e.TreeEntry.Mode), int64(0)
		if e.TreeEntry.Mode != filemode.Submodule {
			if heads[i], err = r.blobHead(e.TreeEntry.Hash); err != nil {
				return Change{}, fmt.Errorf("%s: %w", quote(e.Name), err)
			}
			if size, err = r.objs.EncodedObjectSize(e.TreeEntry.Hash); err != nil {
				return Change{}, fmt.Errorf("%s: %w", quote(e.Name), err)
			}
		}
		if i == 0 {
			c.OldMode, c.OldSize = mode, size
		} else {
			c.NewMode, c.NewSize = mode, size
		}
	}
	c.Binary = bytes.IndexByte(heads[0], 0) >= 0 || bytes.IndexByte(heads[1], 0) >= 0
	return c, nil
}

// blob finds a blob in any layer.
func (r *reader) blob(h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := r.objs.EncodedObject(plumbing.BlobObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, corrupt("blob %s is not in the workspace", h)
	}
	return o, err
}

// openBlob opens a blob's content.
func (r *reader) openBlob(h plumbing.Hash) (io.ReadCloser, error) {
	o, err := r.blob(h)
	if err != nil {
		return nil, err
	}
	return o.Reader()
}

// blobHead reads the start of a blob, to tell text from binary.
func (r *reader) blobHead(h plumbing.Hash) ([]byte, error) {
	rd, err := r.openBlob(h)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b := make([]byte, sniffBytes)
	n, err := io.ReadFull(rd, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return b[:n], nil
}

// readBlob reads a whole blob (callers bound its size first).
func (r *reader) readBlob(h plumbing.Hash) ([]byte, error) {
	rd, err := r.openBlob(h)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// patch computes the unified diff of one text file, and its line counts.
// fits is false when it would not fit in budget (then neither text nor
// counts are given).
func (r *reader) patch(ctx context.Context, ch *object.Change, c *Change, budget int) (text string, fits bool, err error) {
	if budget <= 0 || c.OldSize+c.NewSize > int64(budget) {
		return "", false, nil
	}
	var texts [2]string
	var files [2]*patchFile
	for i, e := range []object.ChangeEntry{ch.From, ch.To} {
		if e.Name == "" {
			continue
		}
		b, err := r.readBlob(e.TreeEntry.Hash)
		if err != nil {
			return "", false, fmt.Errorf("%s: %w", quote(e.Name), err)
		}
		texts[i] = string(b)
		files[i] = &patchFile{hash: e.TreeEntry.Hash, mode: e.TreeEntry.Mode, path: e.Name}
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	// go-git's encoder writes only the hunks (it writes no header for a
	// patch without files); the header is ours, its names quoted.
	fp := filePatch{}
	var adds, dels int
	for _, d := range diff.DoWithTimeout(texts[0], texts[1], diffTimeout) {
		ck := chunk{content: d.Text}
		switch d.Type {
		case dmp.DiffDelete:
			ck.op = fdiff.Delete
			dels += countLines(d.Text)
		case dmp.DiffInsert:
			ck.op = fdiff.Add
			adds += countLines(d.Text)
		default:
			ck.op = fdiff.Equal
		}
		fp.chunks = append(fp.chunks, ck)
	}
	var sb strings.Builder
	writePatchHeader(&sb, files[0], files[1])
	if err := guard(func() error { return fdiff.NewUnifiedEncoder(&sb, fdiff.DefaultContextLines).Encode(onePatch{fp}) }); err != nil {
		return "", false, fmt.Errorf("%s: %w", quote(c.Path), err)
	}
	if sb.Len() > budget {
		return "", false, nil
	}
	c.Additions, c.Deletions = adds, dels
	return sb.String(), true, nil
}

func countLines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// The few types go-git's unified encoder wants.
type onePatch struct{ fp filePatch }

func (p onePatch) FilePatches() []fdiff.FilePatch { return []fdiff.FilePatch{p.fp} }
func (p onePatch) Message() string                { return "" }

// filePatch is the hunks of one file: with no files, the encoder writes
// no header (writePatchHeader does).
type filePatch struct {
	chunks []fdiff.Chunk
}

func (p filePatch) IsBinary() bool               { return false }
func (p filePatch) Files() (from, to fdiff.File) { return nil, nil }
func (p filePatch) Chunks() []fdiff.Chunk        { return p.chunks }

// patchFile is one side of a patch.
type patchFile struct {
	hash plumbing.Hash
	mode filemode.FileMode
	path string
}

type chunk struct {
	content string
	op      fdiff.Operation
}

func (c chunk) Content() string       { return c.content }
func (c chunk) Type() fdiff.Operation { return c.op }
