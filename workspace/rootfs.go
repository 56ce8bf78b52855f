package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
)

// Everything under the workspace was written by the agent. go-git reads the
// workspace's refs and packs through gitFS, a read-only billy.Filesystem
// over an os.Root of <Dir>/.git: no path leaves that directory, no symlink
// is followed out of it, no FIFO or device is opened, and only the files
// go-git needs for refs and packs exist at all. The workspace's config,
// index, hooks, loose objects (read by looseObject, bounded) and above all
// objects/info/alternates (which could name any repository on the host) are
// reported as not existing.

// Read limits for what the agent wrote.
const (
	maxSmallFile = 16 << 20 // HEAD, a ref, packed-refs, .gitignore, info/exclude
	maxDirEntry  = 100000   // entries of one directory of .git
	// go-git decodes every pack's index into memory (about as much memory as
	// the index's size) when the store is first used: six sparse 532 MB
	// indexes took the daemon to 3.1 GB on one `list`. So a reader opens
	// at most maxPacks packs and maxIdxBytes of indexes in all.
	maxPacks    = 256
	maxIdxBytes = 128 << 20
	// A pack or index over sparseIdxMin bytes with less than half of it on
	// disk is sparse: git never writes one.
	sparseIdxMin = 1 << 20
)

var errNotRegular = errors.New("not a regular file")

// openRegular opens name in root for reading, refusing anything but a
// regular file: it is checked before opening (a FIFO or a device is never
// opened for real) and after, on the open file (in case it was swapped).
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	before, err := root.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	f, err := root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	after, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !after.Mode().IsRegular() || !os.SameFile(before, after) {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	return f, after, nil
}

// readSmall reads a whole small regular file from root.
func readSmall(root *os.Root, name string, limit int64) ([]byte, error) {
	f, fi, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %s, more than the %s we read", quote(name), humanSize(fi.Size()), humanSize(limit))
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past the %s we read", quote(name), humanSize(limit))
	}
	return b, nil
}

// gitFS is the read-only billy.Filesystem described above. One is made per
// reader, and its limits hold for the reader's whole life.
type gitFS struct {
	root *os.Root
	name string // for Root(), messages only
	// maxPacks and maxIdxBytes override the package's limits when > 0.
	maxPacks    int
	maxIdxBytes int64

	mu  sync.Mutex
	idx map[string]int64 // the indexes opened, and their sizes
}

func (g *gitFS) packLimit() int {
	if g.maxPacks > 0 {
		return g.maxPacks
	}
	return maxPacks
}

func (g *gitFS) idxLimit() int64 {
	if g.maxIdxBytes > 0 {
		return g.maxIdxBytes
	}
	return maxIdxBytes
}

// admitIdx counts an index against the reader's limits before go-git
// decodes it.
func (g *gitFS) admitIdx(p string, size int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.idx[p]; ok {
		return nil // opened again: already counted
	}
	if len(g.idx) >= g.packLimit() {
		return corrupt("the workspace's repository holds more than %d packs, more than we read; repack it with `git repack -a -d -l` in the session", g.packLimit())
	}
	var total int64
	for _, n := range g.idx {
		total += n
	}
	if total+size > g.idxLimit() {
		return corrupt("the workspace's pack indexes hold more than %s, more than we read; the agent may have forged them (%s is %s)",
			humanSize(g.idxLimit()), quote(p), humanSize(size))
	}
	if g.idx == nil {
		g.idx = map[string]int64{}
	}
	g.idx[p] = size
	return nil
}

// notSparse refuses a pack or an index that is mostly holes: its length
// would cost memory or time that its disk use does not show.
func notSparse(p string, fi fs.FileInfo) error {
	on, ok := allocated(fi)
	if ok && fi.Size() > sparseIdxMin && on < fi.Size()/2 {
		return corrupt("the workspace's %s is a sparse file of %s (%s of it on disk), which git never writes; the agent may have forged it",
			quote(p), humanSize(fi.Size()), humanSize(on))
	}
	return nil
}

var _ billy.Filesystem = (*gitFS)(nil)

// clean turns a billy path into a path inside the root, or reports that it
// is hidden.
func (g *gitFS) clean(op, name string) (string, error) {
	p := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
	if p == "" {
		p = "."
	}
	if !gitFSVisible(p) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return p, nil
}

// gitFSVisible says which paths of .git go-git may see: refs and packs.
func gitFSVisible(p string) bool {
	switch {
	case p == ".", p == "HEAD", p == "packed-refs", p == "refs", p == "objects", p == "objects/pack":
		return true
	case strings.HasPrefix(p, "refs/"):
		return true
	case strings.HasPrefix(p, "objects/pack/"):
		base := strings.TrimPrefix(p, "objects/pack/")
		return !strings.Contains(base, "/") && strings.HasPrefix(base, "pack-") &&
			(strings.HasSuffix(base, ".pack") || strings.HasSuffix(base, ".idx"))
	}
	return false
}

func (g *gitFS) Open(name string) (billy.File, error) {
	return g.OpenFile(name, os.O_RDONLY, 0)
}

func (g *gitFS) OpenFile(name string, flag int, _ os.FileMode) (billy.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC) != 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: billy.ErrReadOnly}
	}
	p, err := g.clean("open", name)
	if err != nil {
		return nil, err
	}
	f, fi, err := openRegular(g.root, p)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(p, ".pack"):
		// Packs are read in place (go-git seeks in them); each object read
		// from one is bounded and hash-checked by wsObjects.
		if err := notSparse(p, fi); err != nil {
			f.Close()
			return nil, err
		}
		return &rootFile{File: f, name: p}, nil
	case strings.HasSuffix(p, ".idx"):
		// Checked here, on the open file, before go-git decodes any of it.
		if err := notSparse(p, fi); err != nil {
			f.Close()
			return nil, err
		}
		if err := g.admitIdx(p, fi.Size()); err != nil {
			f.Close()
			return nil, err
		}
		return &rootFile{File: f, name: p}, nil
	}
	defer f.Close()
	if fi.Size() > maxSmallFile {
		return nil, fmt.Errorf("%s is %s, more than the %s we read", quote(p), humanSize(fi.Size()), humanSize(maxSmallFile))
	}
	// A snapshot: what go-git parses cannot change under it, nor grow.
	b, err := io.ReadAll(io.LimitReader(f, maxSmallFile))
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), name: p, mod: fi.ModTime()}, nil
}

func (g *gitFS) Stat(name string) (os.FileInfo, error) { return g.Lstat(name) }

func (g *gitFS) Lstat(name string) (os.FileInfo, error) {
	p, err := g.clean("lstat", name)
	if err != nil {
		return nil, err
	}
	return g.root.Lstat(p)
}

func (g *gitFS) ReadDir(name string) ([]os.FileInfo, error) {
	p, err := g.clean("readdir", name)
	if err != nil {
		return nil, err
	}
	fi, err := g.root.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	d, err := g.root.Open(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var list []os.FileInfo
	packs := 0
	for {
		ents, err := d.ReadDir(1000)
		for _, e := range ents {
			if !gitFSVisible(path.Join(p, e.Name())) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue // gone since it was listed
			}
			list = append(list, info)
			if len(list) > maxDirEntry {
				return nil, fmt.Errorf("%s holds more than %d entries", quote(p), maxDirEntry)
			}
			// go-git lists the packs, then decodes every index: refuse too
			// many before it starts.
			if p == "objects/pack" && strings.HasSuffix(e.Name(), ".pack") {
				if packs++; packs > g.packLimit() {
					return nil, corrupt("the workspace's repository holds more than %d packs, more than we read; repack it with `git repack -a -d -l` in the session", g.packLimit())
				}
			}
		}
		if err == io.EOF {
			return list, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (g *gitFS) Join(elem ...string) string { return path.Join(elem...) }
func (g *gitFS) Root() string               { return g.name }

func (g *gitFS) Chroot(string) (billy.Filesystem, error) { return nil, billy.ErrNotSupported }
func (g *gitFS) Readlink(string) (string, error)         { return "", billy.ErrNotSupported }

func (g *gitFS) Create(string) (billy.File, error)           { return nil, billy.ErrReadOnly }
func (g *gitFS) Rename(string, string) error                 { return billy.ErrReadOnly }
func (g *gitFS) Remove(string) error                         { return billy.ErrReadOnly }
func (g *gitFS) TempFile(string, string) (billy.File, error) { return nil, billy.ErrReadOnly }
func (g *gitFS) MkdirAll(string, os.FileMode) error          { return billy.ErrReadOnly }
func (g *gitFS) Symlink(string, string) error                { return billy.ErrReadOnly }

func (g *gitFS) Capabilities() billy.Capability {
	return billy.ReadCapability | billy.SeekCapability
}

// rootFile is an open pack or index.
type rootFile struct {
	*os.File
	name string
}

func (f *rootFile) Name() string                       { return f.name }
func (f *rootFile) Write([]byte) (int, error)          { return 0, billy.ErrReadOnly }
func (f *rootFile) Truncate(int64) error               { return billy.ErrReadOnly }
func (f *rootFile) Lock() error                        { return nil }
func (f *rootFile) Unlock() error                      { return nil }
func (f *rootFile) WriteAt([]byte, int64) (int, error) { return 0, billy.ErrReadOnly }

// memFile is a snapshot of a small file.
type memFile struct {
	*bytes.Reader
	name string
	mod  time.Time
}

func (f *memFile) Name() string              { return f.name }
func (f *memFile) Write([]byte) (int, error) { return 0, billy.ErrReadOnly }
func (f *memFile) Truncate(int64) error      { return billy.ErrReadOnly }
func (f *memFile) Lock() error               { return nil }
func (f *memFile) Unlock() error             { return nil }
func (f *memFile) Close() error              { return nil }
func (f *memFile) Stat() (os.FileInfo, error) {
	return memInfo{name: path.Base(f.name), size: f.Size(), mod: f.mod}, nil
}

type memInfo struct {
	name string
	size int64
	mod  time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
