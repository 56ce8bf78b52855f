package workspace

import (
	"bufio"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// maxObjectBytes bounds an object read from the workspace's store into
// memory.
const maxObjectBytes = 256 << 20

// wsObjects reads the workspace's object store: loose objects by hand
// (bounded inflation), packs through go-git over gitFS. Every object is
// hash-checked before it is returned.
type wsObjects struct {
	git   *os.Root // <Dir>/.git
	packs *filesystem.ObjectStorage
	// broken is the first error reading the packs. It sticks: go-git
	// would carry on with the indexes it loaded before the one that failed,
	// and report the objects of the rest as missing.
	broken error
}

func corrupt(format string, args ...any) error {
	return errorf(ErrCorrupt, "%s", fmt.Sprintf(format, args...))
}

func loosePath(h plumbing.Hash) string {
	s := h.String()
	return "objects/" + s[:2] + "/" + s[2:]
}

func (w *wsObjects) get(h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, err := w.loose(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		o, err = w.packed(h)
	}
	return o, err
}

func (w *wsObjects) has(h plumbing.Hash) (bool, error) {
	fi, err := w.git.Lstat(loosePath(h))
	if err == nil && fi.Mode().IsRegular() {
		return true, nil
	}
	if w.broken != nil {
		return false, w.broken
	}
	err = guard(func() error { return w.packs.HasEncodedObject(h) })
	if err == nil {
		return true, nil
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	return false, w.packErr(err, "reading the workspace's packs")
}

// size reads only an object's header: it is shown, never relied on, so it
// is not worth inflating (and hash-checking) the whole object.
func (w *wsObjects) size(h plumbing.Hash) (int64, error) {
	f, _, err := openRegular(w.git, loosePath(h))
	if err == nil {
		defer f.Close()
		zr, err := zlib.NewReader(bufio.NewReader(f))
		if err != nil {
			return 0, corrupt("object %s in the workspace is not compressed", h)
		}
		defer zr.Close()
		header, err := readHeader(bufio.NewReaderSize(zr, 64))
		if err != nil {
			return 0, corrupt("object %s in the workspace has a bad header", h)
		}
		_, sizeStr, _ := strings.Cut(header, " ")
		n, err := strconv.ParseInt(sizeStr, 10, 64)
		if err != nil || n < 0 {
			return 0, corrupt("object %s in the workspace has a bad size %s", h, quote(sizeStr))
		}
		return n, nil
	}
	if w.broken != nil {
		return 0, w.broken
	}
	var n int64
	err = guard(func() (err error) {
		n, err = w.packs.EncodedObjectSize(h)
		return err
	})
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return 0, plumbing.ErrObjectNotFound
	}
	if err != nil {
		return 0, w.packErr(err, fmt.Sprintf("object %s in the workspace's packs cannot be read", h))
	}
	return n, nil
}

// loose reads a loose object, inflating at most what its header declares
// (and refusing a header over maxObjectBytes), so a zlib bomb cannot fill
// memory.
func (w *wsObjects) loose(h plumbing.Hash) (plumbing.EncodedObject, error) {
	f, _, err := openRegular(w.git, loosePath(h))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, plumbing.ErrObjectNotFound
		}
		return nil, corrupt("object %s in the workspace cannot be read: %s", h, quote(err.Error()))
	}
	defer f.Close()
	zr, err := zlib.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, corrupt("object %s in the workspace is not compressed: %s", h, quote(err.Error()))
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64)
	header, err := readHeader(br)
	if err != nil {
		return nil, corrupt("object %s in the workspace has a bad header: %s", h, quote(err.Error()))
	}
	typ, sizeStr, _ := strings.Cut(header, " ")
	t, err := plumbing.ParseObjectType(typ)
	if err != nil || !isContentType(t) {
		return nil, corrupt("object %s in the workspace has a bad type %s", h, quote(typ))
	}
	size, err := strconv.ParseInt(sizeStr, 10, 64)
	if err != nil || size < 0 {
		return nil, corrupt("object %s in the workspace has a bad size %s", h, quote(sizeStr))
	}
	if size > maxObjectBytes {
		return nil, corrupt("object %s in the workspace is %s, more than the %s we read", h, humanSize(size), humanSize(maxObjectBytes))
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(br, buf); err != nil {
		return nil, corrupt("object %s in the workspace is truncated: %s", h, quote(err.Error()))
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return nil, corrupt("object %s in the workspace is longer than its header says", h)
	}
	return verified(h, t, buf)
}

// readHeader reads "<type> <size>" up to its NUL.
func readHeader(r *bufio.Reader) (string, error) {
	var b []byte
	for len(b) < 32 {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		if c == 0 {
			return string(b), nil
		}
		b = append(b, c)
	}
	return "", errors.New("header too long")
}

func isContentType(t plumbing.ObjectType) bool {
	switch t {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
		return true
	}
	return false
}

// packed reads an object from the workspace's packs.
func (w *wsObjects) packed(h plumbing.Hash) (plumbing.EncodedObject, error) {
	if w.broken != nil {
		return nil, w.broken
	}
	var size int64
	err := guard(func() (err error) {
		size, err = w.packs.EncodedObjectSize(h)
		return err
	})
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, plumbing.ErrObjectNotFound
	}
	if err != nil {
		return nil, w.packErr(err, fmt.Sprintf("object %s in the workspace's packs cannot be read", h))
	}
	if size < 0 || size > maxObjectBytes {
		return nil, corrupt("object %s in the workspace is %s, more than the %s we read", h, humanSize(size), humanSize(maxObjectBytes))
	}
	var (
		t   plumbing.ObjectType
		buf []byte
	)
	err = guard(func() error {
		o, err := w.packs.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return err
		}
		t = o.Type()
		r, err := o.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		buf, err = io.ReadAll(io.LimitReader(r, maxObjectBytes+1))
		return err
	})
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, plumbing.ErrObjectNotFound
	}
	if err != nil {
		return nil, w.packErr(err, fmt.Sprintf("object %s in the workspace's packs cannot be read", h))
	}
	if int64(len(buf)) > maxObjectBytes {
		return nil, corrupt("object %s in the workspace is more than the %s we read", h, humanSize(maxObjectBytes))
	}
	if !isContentType(t) {
		return nil, corrupt("object %s in the workspace has a bad type", h)
	}
	return verified(h, t, buf)
}

// verified returns the object if content hashes to h.
func verified(h plumbing.Hash, t plumbing.ObjectType, content []byte) (plumbing.EncodedObject, error) {
	if got := plumbing.ComputeHash(t, content); got != h {
		return nil, corrupt("object %s in the workspace holds the content of %s: it was forged", h, got)
	}
	o := &plumbing.MemoryObject{}
	o.SetType(t)
	o.Write(content)
	return o, nil
}

// packErr is an error of go-git's pack reading, as ErrCorrupt (one of our
// own limits, from gitFS, is already that and says what it is); it sticks.
func (w *wsObjects) packErr(err error, what string) error {
	if !errors.Is(err, ErrCorrupt) {
		err = corrupt("%s: %s", what, quote(err.Error()))
	}
	w.broken = err
	return err
}

// guard runs go-git's parsing of agent-written packs, turning a panic into
// an error: a malformed pack must not take the daemon down.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed data: %v", r)
		}
	}()
	return f()
}
