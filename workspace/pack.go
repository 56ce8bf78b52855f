package workspace

import (
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// writePack writes the objects as a version 2 pack without deltas. It
// streams one object at a time (go-git's encoder loads them all first),
// reading each through s, so each is hash-checked once more on the way.
func writePack(w io.Writer, s storer.EncodedObjectStorer, hashes []plumbing.Hash) error {
	sum := sha1.New()
	pw := &packWriter{w: io.MultiWriter(w, sum), sum: sum}
	var head [12]byte
	copy(head[:4], "PACK")
	binary.BigEndian.PutUint32(head[4:], 2)
	binary.BigEndian.PutUint32(head[8:], uint32(len(hashes)))
	if _, err := pw.w.Write(head[:]); err != nil {
		return err
	}
	for _, h := range hashes {
		if err := pw.object(s, h); err != nil {
			return err
		}
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

type packWriter struct {
	w   io.Writer
	sum hash.Hash
}

func (p *packWriter) object(s storer.EncodedObjectStorer, h plumbing.Hash) error {
	o, err := s.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	var typ byte
	switch o.Type() {
	case plumbing.CommitObject:
		typ = 1
	case plumbing.TreeObject:
		typ = 2
	case plumbing.BlobObject:
		typ = 3
	case plumbing.TagObject:
		typ = 4
	default:
		return fmt.Errorf("object %s has type %s, which cannot be packed", h, o.Type())
	}
	// The entry header: type and size, 4 bits of size first, then 7 a byte.
	size := uint64(o.Size())
	hdr := []byte{typ<<4 | byte(size&0x0f)}
	for size >>= 4; size > 0; size >>= 7 {
		hdr[len(hdr)-1] |= 0x80
		hdr = append(hdr, byte(size&0x7f))
	}
	if _, err := p.w.Write(hdr); err != nil {
		return err
	}
	r, err := o.Reader()
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	defer r.Close()
	zw := zlib.NewWriter(p.w)
	n, err := io.Copy(zw, r)
	if err != nil {
		return fmt.Errorf("object %s: %w", h, err)
	}
	if n != o.Size() {
		return fmt.Errorf("object %s: read %d bytes of %d", h, n, o.Size())
	}
	return zw.Close()
}
