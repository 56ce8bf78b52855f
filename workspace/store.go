package workspace

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Objects are looked up in three layers, in this order:
//
//  1. the user's object store (trusted; read with go-git over the real
//     filesystem). An object there is what its name says, so nothing the
//     agent writes can shadow it.
//  2. the workspace's store, written by the agent: every object read from it
//     is bounded in size and its hash recomputed, so a forged object (content
//     not matching its name) is refused with ErrCorrupt.
//  3. objects we computed ourselves: blobs of the working tree, its trees and
//     the commit of the uncommitted work.

// layered is the object storer over the three layers. It is used by one
// goroutine at a time.
type layered struct {
	user storer.EncodedObjectStorer // nil for a plain directory
	ws   *wsObjects
	mem  *memObjects
}

var _ storer.EncodedObjectStorer = (*layered)(nil)

// openUserObjects opens the user's object store (objectsDir is
// <common git dir>/objects).
func openUserObjects(objectsDir string) storer.EncodedObjectStorer {
	return filesystem.NewStorage(osfs.New(filepath.Dir(objectsDir)), cache.NewObjectLRUDefault())
}

func (l *layered) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (l *layered) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	l.mem.set(o)
	return o.Hash(), nil
}

func (l *layered) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if l.user != nil {
		o, err := l.user.EncodedObject(t, h)
		if err == nil || !errors.Is(err, plumbing.ErrObjectNotFound) {
			return o, err
		}
	}
	o, err := l.ws.get(h)
	if err == nil {
		if t != plumbing.AnyObject && o.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return o, nil
	}
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, err
	}
	if o, ok := l.mem.get(h); ok && (t == plumbing.AnyObject || o.Type() == t) {
		return o, nil
	}
	return nil, plumbing.ErrObjectNotFound
}

// inUser says whether the user's store has h.
func (l *layered) inUser(h plumbing.Hash) (bool, error) {
	if l.user == nil {
		return false, nil
	}
	err := l.user.HasEncodedObject(h)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	return false, err
}

func (l *layered) HasEncodedObject(h plumbing.Hash) error {
	if ok, err := l.inUser(h); ok || err != nil {
		return err
	}
	if _, ok := l.mem.get(h); ok {
		return nil
	}
	ok, err := l.ws.has(h)
	if err != nil {
		return err
	}
	if !ok {
		return plumbing.ErrObjectNotFound
	}
	return nil
}

// has is HasEncodedObject as a bool.
func (l *layered) has(h plumbing.Hash) (bool, error) {
	err := l.HasEncodedObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	return err == nil, err
}

// put stores o in memory unless a layer already holds it.
func (l *layered) put(o plumbing.EncodedObject) error {
	ok, err := l.has(o.Hash())
	if err != nil || ok {
		return err
	}
	l.mem.set(o)
	return nil
}

func (l *layered) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if l.user != nil {
		n, err := l.user.EncodedObjectSize(h)
		if err == nil || !errors.Is(err, plumbing.ErrObjectNotFound) {
			return n, err
		}
	}
	if o, ok := l.mem.get(h); ok {
		return o.Size(), nil
	}
	return l.ws.size(h)
}

func (l *layered) IterEncodedObjects(plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return nil, errors.New("workspace: iterating over every object is not supported")
}

func (l *layered) AddAlternate(string) error {
	return errors.New("workspace: alternates are not supported")
}

// memObjects holds the objects we computed.
type memObjects struct {
	mu   sync.Mutex
	objs map[plumbing.Hash]plumbing.EncodedObject
}

func newMemObjects() *memObjects {
	return &memObjects{objs: map[plumbing.Hash]plumbing.EncodedObject{}}
}

func (m *memObjects) set(o plumbing.EncodedObject) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[o.Hash()] = o
}

func (m *memObjects) get(h plumbing.Hash) (plumbing.EncodedObject, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[h]
	return o, ok
}

// fileBlob is a blob of the working tree, read from its file when needed
// (not kept in memory) and hash-checked again then, since the agent may
// change the file at any time.
type fileBlob struct {
	root *os.Root // <Dir>
	path string
	hash plumbing.Hash
	size int64
}

var _ plumbing.EncodedObject = (*fileBlob)(nil)

func (b *fileBlob) Hash() plumbing.Hash         { return b.hash }
func (b *fileBlob) Type() plumbing.ObjectType   { return plumbing.BlobObject }
func (b *fileBlob) SetType(plumbing.ObjectType) {}
func (b *fileBlob) Size() int64                 { return b.size }
func (b *fileBlob) SetSize(int64)               {}
func (b *fileBlob) Writer() (io.WriteCloser, error) {
	return nil, errors.New("workspace: read-only object")
}

func (b *fileBlob) Reader() (io.ReadCloser, error) {
	f, fi, err := openRegular(b.root, b.path)
	if err != nil {
		return nil, changed(b.path, err.Error())
	}
	if fi.Size() < b.size {
		f.Close()
		return nil, changed(b.path, "it shrank")
	}
	return &checkedReader{f: f, r: io.LimitReader(f, b.size), h: plumbing.NewHasher(plumbing.BlobObject, b.size), want: b.hash, path: b.path}, nil
}

func changed(p, detail string) error {
	return errorf(ErrCorrupt, "%s changed in the workspace while it was read (%s); try again", quote(p), quote(detail))
}

// checkedReader fails at the end of the data if it did not hash to want.
type checkedReader struct {
	f    *os.File
	r    io.Reader
	h    plumbing.Hasher
	want plumbing.Hash
	path string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	if err == io.EOF && c.h.Sum() != c.want {
		return n, changed(c.path, "its content differs")
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.f.Close() }
