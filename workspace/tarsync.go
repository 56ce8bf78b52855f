package workspace

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// A workspace on a backend whose containers cannot bind-mount a host
// directory (Kubernetes) travels as a tar stream: WriteTar sends the host's
// copy into the pod at start, and ReadTar brings the pod's tree back into a
// fresh host directory, where the existing diff, land and apply code reads
// it as it reads a Docker workspace. What comes back was written by the
// agent, and so was the tar program that wrote the stream: ReadTar trusts
// no byte of it.

// Defaults for TarOptions' zero fields.
const (
	DefaultMaxTarFiles   = 200_000
	DefaultMaxTarDepth   = 128
	DefaultMaxTarNameLen = 4096 // PATH_MAX
	// DefaultMaxTarNameBytes bounds the sum of ReadTar's names: it keeps
	// every name it made in memory, and MaxFiles names of MaxNameLen each
	// would be gigabytes. A real tree of 200 000 files has about 20 MB.
	DefaultMaxTarNameBytes = 32 << 20
	maxComponentLen        = 255 // NAME_MAX
)

// TarOptions bound a tar stream, both ways.
type TarOptions struct {
	MaxBytes   int64 // total bytes of regular files' contents; DefaultMaxBytes when 0
	MaxFiles   int   // entries of any type; DefaultMaxTarFiles when 0
	MaxDepth   int   // ReadTar: path components of a name; DefaultMaxTarDepth when 0
	MaxNameLen int   // ReadTar: bytes of a name; DefaultMaxTarNameLen when 0
	// MaxNameBytes, for ReadTar: bytes of all names and symlink targets
	// together; DefaultMaxTarNameBytes when 0.
	MaxNameBytes int
}

func (o TarOptions) withDefaults() TarOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxTarFiles
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxTarDepth
	}
	if o.MaxNameLen <= 0 {
		o.MaxNameLen = DefaultMaxTarNameLen
	}
	if o.MaxNameBytes <= 0 {
		o.MaxNameBytes = DefaultMaxTarNameBytes
	}
	return o
}

// Stats is what ReadTar made and what it left out.
type Stats struct {
	Files, Dirs, Symlinks int
	Bytes                 int64 // of regular files
	// Skipped counts entries that cannot be part of a workspace (devices,
	// FIFOs, and types this reader does not know); SkippedNames holds the
	// first few of their names, raw: they are the agent's, so escape them
	// before printing.
	Skipped      int
	SkippedNames []string
}

const maxSkippedNames = 20

// trailerSlack is how much ReadTar reads past the tar's end.
const trailerSlack = 64 << 10

// WriteTar writes the tree at dir to w as a tar stream: regular files,
// directories and symlinks (as symlinks, never followed); devices, FIFOs
// and sockets are left out. Modes keep only the permission bits (no
// setuid, setgid or sticky), owners are zeroed (the extracting user owns
// everything), and names are relative ("a/b", with no "./"). It stops
// with ErrTooBig past opts.MaxBytes or opts.MaxFiles. The stream is not
// closed: the caller closes w (the exec's stdin) after.
//
// The tree may change while it is read (the agent still works in it, when
// the pod's side of a sync-back runs WriteTar): an entry that vanishes or
// changes type between the walk and its read is left out, and a file that
// shrinks while it is copied is padded with zeros to the size its header
// gave, so the stream stays whole. What it holds is then as torn as a live
// read of the tree on the host would be.
func WriteTar(ctx context.Context, dir string, w io.Writer, opts TarOptions) error {
	opts = opts.withDefaults()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("tar of %s: %w", dir, err)
	}
	defer root.Close()
	tw := &tarWriter{tw: tar.NewWriter(w), root: root, opts: opts, dir: dir, buf: make([]byte, 256<<10)}
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name != "." && errors.Is(err, fs.ErrNotExist) {
				return nil // gone since its parent was read
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		return tw.entry(name, d)
	})
	if err != nil {
		return fmt.Errorf("tar of %s: %w", dir, err)
	}
	return tw.tw.Close()
}

type tarWriter struct {
	tw    *tar.Writer
	root  *os.Root
	opts  TarOptions
	dir   string
	files int
	total int64
	buf   []byte
}

func (t *tarWriter) entry(name string, d fs.DirEntry) error {
	var hdr *tar.Header
	var f *os.File
	switch d.Type() {
	case fs.ModeDir:
		fi, err := d.Info() // an lstat: WalkDir never follows a symlink
		if err != nil {
			return vanished(err)
		}
		hdr = &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
	case fs.ModeSymlink:
		target, err := t.root.Readlink(name)
		if err != nil {
			return vanished(err)
		}
		hdr = &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}
	case 0:
		// Opened without following a symlink (it may have been swapped
		// for one since the walk saw it) and without blocking on a FIFO;
		// the header is the descriptor's, so it is what is copied.
		var err error
		f, err = t.root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|oNonblock, 0)
		if err != nil {
			// Gone, or now a symlink (ELOOP, or os.Root's "escapes" for one
			// that leads out): the next sync-back sees what it became.
			if fi, lerr := t.root.Lstat(name); lerr != nil && errors.Is(lerr, fs.ErrNotExist) || lerr == nil && !fi.Mode().IsRegular() {
				return nil
			}
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		hdr = &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
	default:
		return nil // a device, FIFO or socket has no place in a workspace
	}
	if t.files++; t.files > t.opts.MaxFiles {
		return errorf(ErrTooBig, "%s has more than %d files", quote(t.dir), t.opts.MaxFiles)
	}
	if hdr.Typeflag == tar.TypeReg {
		if t.total += hdr.Size; t.total > t.opts.MaxBytes {
			return errorf(ErrTooBig, "%s holds more than %s", quote(t.dir), humanSize(t.opts.MaxBytes))
		}
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if f == nil {
		return nil
	}
	if testHookTarCopy != nil {
		testHookTarCopy(name)
	}
	n, err := io.CopyBuffer(t.tw, io.LimitReader(f, hdr.Size), t.buf)
	if err != nil {
		return err
	}
	// Shrunk while copied: pad, so that the stream stays a tar.
	for ; n < hdr.Size; n += int64(len(t.buf)) {
		clear(t.buf)
		if _, err := t.tw.Write(t.buf[:min(int64(len(t.buf)), hdr.Size-n)]); err != nil {
			return err
		}
	}
	return nil
}

// testHookTarCopy, when set, runs before a file's content is copied.
var testHookTarCopy func(name string)

// vanished is nil for an entry that no longer exists, else err.
func vanished(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ReadTar extracts a tar stream that the agent made (and so may have
// crafted to attack the host) into dest, which must not exist: it is made
// 0700, so nothing is merged into a tree someone prepared. It makes regular
// files, directories and symlinks (whose targets it never follows, and
// which the host's workspace code reads without following either);
// devices, FIFOs and unknown types are skipped and counted in Stats.
//
// It refuses (ErrCorrupt) absolute names, names with a ".." component,
// names that pass through a symlink or a file it made, names seen twice,
// and hard links; and (ErrTooBig) streams past opts' bounds. Modes keep
// only the permission bits, plus the owner's read on files and read,
// write and search on directories, so the daemon can always read the tree
// and remove it (git's 0444 objects and a script's 0755 come back as they
// were). On any error dest is removed entirely. The stream is read to the
// tar's end and at most 64 KiB past it (tar's padding): the caller closes
// its reader after, which ends a writer that goes on. A read that blocks is
// not interrupted by ctx: give r a source that ends with ctx, as the
// stdout of an Exec under the same ctx does.
// Names in errors are quoted; names in Stats are raw.
func ReadTar(ctx context.Context, r io.Reader, dest string, opts TarOptions) (Stats, error) {
	opts = opts.withDefaults()
	if err := os.Mkdir(dest, 0o700); err != nil {
		return Stats{}, fmt.Errorf("extracting the workspace: %w", err)
	}
	x := &extractor{opts: opts, seen: map[string]byte{"": tar.TypeDir}, dirIndex: map[string]int{}}
	st, err := x.run(ctx, r, dest)
	if err != nil {
		if rerr := os.RemoveAll(dest); rerr != nil {
			err = fmt.Errorf("%w (and %s could not be removed: %v)", err, dest, rerr)
		}
		return Stats{}, err
	}
	return st, nil
}

type extractor struct {
	opts      TarOptions
	root      *os.Root
	st        Stats
	files     int
	nameBytes int
	// seen is every name made so far (a directory, file or symlink), "" the
	// root: the authority on what each parent of a later name is. dest is
	// new and only this extractor writes in it, so nothing else can change
	// what a name is between the check and the create.
	seen map[string]byte // a tar.Type*
	// dirs are the final modes of directories, in the order they were made,
	// set at the end so that a read-only directory can still be filled;
	// dirIndex finds a directory's in dirs.
	dirs     []dirMode
	dirIndex map[string]int
	buf      []byte
}

type dirMode struct {
	name string
	mode os.FileMode
}

func (x *extractor) run(ctx context.Context, r io.Reader, dest string) (Stats, error) {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return Stats{}, err
	}
	defer root.Close()
	x.root, x.buf = root, make([]byte, 256<<10)
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return Stats{}, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			// tar pads its output to a whole record (10 KiB for GNU tar)
			// past the end archive/tar stops at: take that too, so the
			// writer ends cleanly instead of on a closed pipe. Bounded: a
			// stream that goes on is the caller's to cut off.
			io.CopyN(io.Discard, r, trailerSlack)
			break
		}
		if err != nil {
			return Stats{}, corrupt("the workspace's tar stream is unreadable: %s", quote(err.Error()))
		}
		if x.files++; x.files > x.opts.MaxFiles {
			return Stats{}, errorf(ErrTooBig, "the workspace has more than %d files", x.opts.MaxFiles)
		}
		if x.nameBytes += len(hdr.Name) + len(hdr.Linkname); x.nameBytes > x.opts.MaxNameBytes {
			return Stats{}, errorf(ErrTooBig, "the workspace's names add up to more than %s", humanSize(int64(x.opts.MaxNameBytes)))
		}
		if err := x.entry(hdr, tr); err != nil {
			return Stats{}, err
		}
	}
	// Deepest first: a directory's mode is set after everything under it.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(x.dirs[i].name, x.dirs[i].mode); err != nil {
			return Stats{}, fsErr(x.dirs[i].name, err)
		}
	}
	return x.st, nil
}

// cleanName checks a tar entry's name and returns it relative to dest
// ("" for dest itself).
func (x *extractor) cleanName(raw string) (string, error) {
	if len(raw) > x.opts.MaxNameLen {
		return "", errorf(ErrTooBig, "a name in the workspace is longer than %d bytes: %s", x.opts.MaxNameLen, quote(raw))
	}
	if strings.HasPrefix(raw, "/") {
		return "", corrupt("the workspace's tar stream has an absolute name: %s", quote(raw))
	}
	var parts []string
	for _, c := range strings.Split(raw, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", corrupt("the workspace's tar stream has a name with \"..\": %s", quote(raw))
		}
		if len(c) > maxComponentLen {
			return "", errorf(ErrTooBig, "a name in the workspace has a component longer than %d bytes: %s", maxComponentLen, quote(raw))
		}
		parts = append(parts, c)
	}
	if len(parts) > x.opts.MaxDepth {
		return "", errorf(ErrTooBig, "a name in the workspace is deeper than %d directories: %s", x.opts.MaxDepth, quote(raw))
	}
	return strings.Join(parts, "/"), nil
}

func (x *extractor) entry(hdr *tar.Header, tr io.Reader) error {
	name, err := x.cleanName(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeLink:
		// One name could then change another's content behind the checks
		// made on it. Honest streams have none: tar -c --hard-dereference
		// writes each link as a regular file.
		return corrupt("the workspace's tar stream has a hard link (make it with tar --hard-dereference): %s -> %s", quote(hdr.Name), quote(hdr.Linkname))
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
	case tar.TypeXGlobalHeader:
		return nil // PAX defaults for later entries: nothing to make
	default:
		// Devices, FIFOs, and anything else (GNU volume or multi-volume
		// headers): nothing a workspace holds, nothing we make.
		x.st.Skipped++
		if len(x.st.SkippedNames) < maxSkippedNames {
			x.st.SkippedNames = append(x.st.SkippedNames, hdr.Name)
		}
		return nil
	}
	if prev, ok := x.seen[name]; ok {
		if hdr.Typeflag == tar.TypeDir && prev == tar.TypeDir {
			// "./" (dest keeps its 0700), or a directory made as a parent
			// before its own entry came.
			if i, ok := x.dirIndex[name]; ok {
				x.dirs[i].mode = os.FileMode(hdr.Mode)&0o777 | 0o700
			}
			return nil
		}
		return corrupt("the workspace's tar stream has %s twice", quote(hdr.Name))
	}
	if err := x.parents(name, hdr.Name); err != nil {
		return err
	}
	perm := os.FileMode(hdr.Mode) & 0o777
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(name, perm)
	case tar.TypeSymlink:
		if hdr.Linkname == "" || len(hdr.Linkname) > x.opts.MaxNameLen {
			return corrupt("the workspace's tar stream has a symlink with an empty or too long target: %s", quote(hdr.Name))
		}
		// Made as a symlink, never resolved: the host's workspace code
		// reads links with Lstat and Readlink only.
		if err := x.root.Symlink(hdr.Linkname, name); err != nil {
			return fsErr(name, err)
		}
		x.seen[name] = tar.TypeSymlink
		x.st.Symlinks++
		return nil
	}
	if hdr.Size < 0 {
		return corrupt("the workspace's tar stream has a negative size for %s", quote(hdr.Name))
	}
	if x.st.Bytes+hdr.Size > x.opts.MaxBytes {
		return errorf(ErrTooBig, "the workspace holds more than %s", humanSize(x.opts.MaxBytes))
	}
	// O_EXCL: the name is new (seen says so) and must stay so; with
	// O_NOFOLLOW even a symlink planted by a race would not be opened.
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fsErr(name, err)
	}
	n, err := io.CopyBuffer(f, io.LimitReader(tr, hdr.Size), x.buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || err == nil && n != hdr.Size {
		err = corrupt("the workspace's tar stream ends inside %s", quote(hdr.Name))
	}
	if err == nil {
		err = f.Chmod(perm | 0o400) // through the descriptor: no name is resolved
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return fsErr(name, err)
	} else if err != nil {
		return err
	}
	x.seen[name] = tar.TypeReg
	x.st.Files++
	x.st.Bytes += n
	return nil
}

// fsErr is an error of the host's filesystem while making name: its
// message quotes the name (the agent's), and it unwraps to err. A name
// that exists already, which seen did not know of, is one the host's
// filesystem takes for another (case or Unicode folding): corrupt.
func fsErr(name string, err error) error {
	var pe *fs.PathError
	detail := err.Error()
	if errors.As(err, &pe) {
		detail = pe.Err.Error() // without the raw name
	}
	if errors.Is(err, fs.ErrExist) {
		return corrupt("the workspace's tar stream has %s twice, as this filesystem compares names", quote(name))
	}
	return &nameError{msg: fmt.Sprintf("extracting the workspace: %s: %s", quote(name), quote(detail)), err: err}
}

type nameError struct {
	msg string
	err error
}

func (e *nameError) Error() string { return e.msg }
func (e *nameError) Unwrap() error { return e.err }

// parents checks that every parent of name is a directory this extractor
// made, making the missing ones (tar streams may leave them out): a name
// through a symlink or a file is refused, so no entry lands anywhere but
// where its name says.
func (x *extractor) parents(name, raw string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		p := name[:i]
		t, ok := x.seen[p]
		if !ok {
			if err := x.mkdir(p, 0o755); err != nil {
				return err
			}
			continue
		}
		if t != tar.TypeDir {
			return corrupt("the workspace's tar stream has a name through a symlink or file: %s", quote(raw))
		}
	}
	return nil
}

func (x *extractor) mkdir(name string, perm os.FileMode) error {
	if err := x.root.Mkdir(name, 0o700); err != nil {
		return fsErr(name, err)
	}
	x.seen[name] = tar.TypeDir
	x.dirIndex[name] = len(x.dirs)
	x.dirs = append(x.dirs, dirMode{name, perm | 0o700})
	x.st.Dirs++
	return nil
}
