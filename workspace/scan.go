package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// The agent's uncommitted work is read from its working tree the way
// `git add -A` would record it, without git: the workspace's index is the
// agent's (it could say a changed file is unchanged), and git would obey the
// workspace's config and attributes. So every file is hashed, and only the
// .gitignore files of the tree and .git/info/exclude decide what is ignored
// (no core.excludesFile, no config at all).

const (
	maxFileBytes   = 4 << 30   // one file of the working tree (streamed, never held in memory)
	maxScanEntries = 2_000_000 // entries of the whole working tree
	maxIgnoreBytes = 1 << 20   // one .gitignore
	// maxScanDepth bounds nesting: each os.Root operation walks the whole
	// path, so a very deep tree would cost quadratic time.
	maxScanDepth = 256
	// maxIgnorePatterns bounds the patterns every path is matched against.
	maxIgnorePatterns = 20000
	// maxHashBytes bounds what one scan reads (files the cache knows are
	// not read): sixteen sparse 4000 MB files took a `list` nearly two
	// minutes.
	maxHashBytes = 8 << 30
	// A file larger than sparseMinBytes with less than 1/sparseRatio of it
	// on disk is a sparse file, made to cost us time: no project needs one.
	sparseMinBytes = 64 << 20
	sparseRatio    = 8
)

// scanner reads the working tree once.
type scanner struct {
	ctx     context.Context
	dir     *os.Root // <Dir>
	git     *os.Root // <Dir>/.git
	objs    *layered
	cache   *HashCache // nil for none
	entries int
	files   []*node // regular files, hashed after the walk
	// hashLimit bounds the bytes hashed; maxHashBytes when 0.
	hashLimit int64
	hashed    atomic.Int64
}

// node is a file or directory of the working tree.
type node struct {
	name string
	path string // slash path from the top
	mode filemode.FileMode
	hash plumbing.Hash
	size int64
	kids []*node // a directory's entries
}

// scan returns the working tree's tree hash; head is HEAD's tree, whose
// paths are never ignored.
func (s *scanner) scan(head *object.Tree) (plumbing.Hash, error) {
	var ps []gitignore.Pattern
	b, err := readSmall(s.git, "info/exclude", maxIgnoreBytes)
	switch {
	case err == nil:
		ps = parseIgnore(b, nil)
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotRegular):
		// None (a symlink or a FIFO there is not read, as git would not).
	default:
		return plumbing.ZeroHash, corrupt("the workspace's .git/info/exclude cannot be read: %s", quote(err.Error()))
	}
	top, err := s.walk("", head, ps, false)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.hashFiles(); err != nil {
		return plumbing.ZeroHash, err
	}
	if s.cache != nil {
		s.cache.retain(s.files)
	}
	// Every file becomes a lazy object, read again (and hash-checked) only
	// if a patch or a land needs it. Asking the stores first whether they
	// hold each one cost a quarter of a large diff, and lookups find the
	// stores' copies before this one anyway.
	for _, n := range s.files {
		s.objs.mem.set(&fileBlob{root: s.dir, path: n.path, hash: n.hash, size: n.size})
	}
	return s.build(top)
}

func parseIgnore(b []byte, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// walk reads directory dir (slash path, "" for the top). head is the HEAD
// tree at dir (nil when HEAD has none there); inIgnored says dir itself is
// ignored, so only what HEAD tracks in it counts.
func (s *scanner) walk(dir string, head *object.Tree, ps []gitignore.Pattern, inIgnored bool) (*node, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if strings.Count(dir, "/") >= maxScanDepth {
		return nil, fmt.Errorf("%s in the workspace is nested more than %d directories deep, more than we read", quote(truncate(dir, 100)), maxScanDepth)
	}
	n := &node{name: path.Base(dir), path: dir, mode: filemode.Dir}
	ents, err := s.readDir(dir)
	if err != nil {
		return nil, err
	}
	var domain []string
	if dir != "" {
		domain = strings.Split(dir, "/")
	}
	for _, e := range ents {
		if e.Name() == ".gitignore" && e.Type().IsRegular() {
			b, err := readSmall(s.dir, join(dir, ".gitignore"), maxIgnoreBytes)
			if err != nil {
				return nil, corrupt("%s cannot be read: %s", quote(join(dir, ".gitignore")), quote(err.Error()))
			}
			ps = append(ps[:len(ps):len(ps)], parseIgnore(b, domain)...)
			if len(ps) > maxIgnorePatterns {
				return nil, fmt.Errorf("the workspace's .gitignore files hold more than %d patterns, more than we match", maxIgnorePatterns)
			}
		}
	}
	m := gitignore.NewMatcher(ps)
	tracked := map[string]*object.TreeEntry{}
	if head != nil {
		for i := range head.Entries {
			tracked[head.Entries[i].Name] = &head.Entries[i]
		}
	}
	for _, e := range ents {
		name := e.Name()
		if strings.EqualFold(name, ".git") {
			continue // the workspace's repository, or a nested one
		}
		rel := join(dir, name)
		te := tracked[name]
		if te != nil && te.Mode == filemode.Submodule {
			// A submodule's content is its own repository's; keep its commit.
			n.kids = append(n.kids, &node{name: name, path: rel, mode: filemode.Submodule, hash: te.Hash})
			continue
		}
		trackedFile := te != nil && te.Mode != filemode.Dir
		ignored := func(isDir bool) bool {
			return inIgnored || m.Match(append(domain[:len(domain):len(domain)], name), isDir)
		}
		typ := e.Type()
		switch {
		case typ.IsDir():
			var sub *object.Tree
			if te != nil && te.Mode == filemode.Dir {
				if sub, err = getTree(s.objs, te.Hash); err != nil {
					return nil, err
				}
			}
			ign := ignored(true)
			if sub == nil && (ign || s.isRepo(rel)) {
				continue // wholly ignored, or an untracked repository of its own
			}
			kid, err := s.walk(rel, sub, ps, ign)
			if err != nil {
				return nil, err
			}
			if len(kid.kids) > 0 {
				n.kids = append(n.kids, kid)
			}
		case typ&fs.ModeSymlink != 0:
			if !trackedFile && ignored(false) {
				continue
			}
			target, err := s.dir.Readlink(rel)
			if err != nil {
				return nil, changed(rel, err.Error())
			}
			o := &plumbing.MemoryObject{}
			o.SetType(plumbing.BlobObject)
			o.Write([]byte(target))
			if err := s.objs.put(o); err != nil {
				return nil, err
			}
			n.kids = append(n.kids, &node{name: name, path: rel, mode: filemode.Symlink, hash: o.Hash(), size: o.Size()})
		case typ.IsRegular():
			if !trackedFile && ignored(false) {
				continue
			}
			kid := &node{name: name, path: rel, mode: filemode.Regular}
			s.files = append(s.files, kid)
			n.kids = append(n.kids, kid)
		}
		// FIFOs, sockets and devices are not content.
	}
	return n, nil
}

// readDir lists a directory of the working tree, within the entry budget.
func (s *scanner) readDir(dir string) ([]fs.DirEntry, error) {
	name := dir
	if name == "" {
		name = "."
	}
	f, err := s.dir.Open(name)
	if err != nil {
		return nil, changed(dir, err.Error())
	}
	defer f.Close()
	var all []fs.DirEntry
	for {
		ents, err := f.ReadDir(1000)
		all = append(all, ents...)
		s.entries += len(ents)
		if s.entries > maxScanEntries {
			return nil, fmt.Errorf("the workspace holds more than %d files and directories, more than we read", maxScanEntries)
		}
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return nil, changed(dir, err.Error())
		}
	}
}

// isRepo says whether dir holds a .git of its own.
func (s *scanner) isRepo(dir string) bool {
	_, err := s.dir.Lstat(dir + "/.git")
	return err == nil
}

// hashFiles hashes the regular files found by walk, in parallel.
func (s *scanner) hashFiles() error {
	work := make(chan *node)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	workers := min(runtime.NumCPU(), 16, max(len(s.files), 1))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				if err := s.hashFile(n); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, n := range s.files {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || s.ctx.Err() != nil {
			break
		}
		work <- n
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return s.ctx.Err()
}

func (s *scanner) hashFile(n *node) error {
	f, fi, err := openRegular(s.dir, n.path)
	if err != nil {
		return changed(n.path, err.Error())
	}
	defer f.Close()
	size := fi.Size()
	if size > maxFileBytes {
		return fmt.Errorf("%s in the workspace is %s, more than the %s a workspace file may be", quote(n.path), humanSize(size), humanSize(maxFileBytes))
	}
	if on, ok := allocated(fi); ok && size > sparseMinBytes && on < size/sparseRatio {
		return corrupt("%s in the workspace is a sparse file of %s (%s of it on disk); remove it, or ignore it in .gitignore, and try again",
			quote(n.path), humanSize(size), humanSize(on))
	}
	if fi.Mode()&0o100 != 0 {
		n.mode = filemode.Executable
	}
	st, stamped := stampOf(fi)
	stamped = stamped && s.cache != nil
	if stamped {
		if h, ok := s.cache.lookup(n.path, st); ok {
			n.hash, n.size = h, size
			return nil
		}
		s.cache.hashed.Add(1)
	}
	limit := s.hashLimit
	if limit <= 0 {
		limit = maxHashBytes
	}
	if s.hashed.Add(size) > limit {
		return fmt.Errorf("the workspace's files hold more than %s to read, more than one look at the work reads; remove the large files the work does not need (or ignore them in .gitignore), and try again", humanSize(limit))
	}
	var start time.Time
	if stamped {
		start = s.cache.clock()
	}
	h := plumbing.NewHasher(plumbing.BlobObject, size)
	got, err := io.Copy(h, io.LimitReader(f, size))
	if err != nil {
		return changed(n.path, err.Error())
	}
	if got != size {
		return changed(n.path, "it shrank")
	}
	n.hash, n.size = h.Sum(), size
	if stamped {
		// Kept only if nothing changed the file while it was read.
		if now, err := f.Stat(); err == nil {
			if after, ok := stampOf(now); ok && after == st {
				s.cache.store(n.path, st, n.hash, start)
			}
		}
	}
	return nil
}

// build stores the tree of directory n (and of its subdirectories).
func (s *scanner) build(n *node) (plumbing.Hash, error) {
	entries := make([]object.TreeEntry, 0, len(n.kids))
	for _, k := range n.kids {
		h := k.hash
		if k.mode == filemode.Dir {
			var err error
			if h, err = s.build(k); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		entries = append(entries, object.TreeEntry{Name: k.name, Mode: k.mode, Hash: h})
	}
	// Git orders a directory as if its name ended in '/'.
	sort.Sort(object.TreeEntrySorter(entries))
	o := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: entries}).Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := s.objs.put(o); err != nil {
		return plumbing.ZeroHash, err
	}
	return o.Hash(), nil
}
