package workspace

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one member of a test tar stream.
type entry struct {
	name, link string
	typ        byte
	mode       int64
	body       string
	size       int64 // when > len(body), the header claims more than the body
}

func makeTar(t *testing.T, es ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			h.Devmajor, h.Devminor = 1, 3
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func file(name, body string) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry        { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

// refused extracts a stream that must be refused with kind, and checks that
// dest is gone and nothing was written outside it.
func refused(t *testing.T, r io.Reader, opts TarOptions, kind error, want string) {
	t.Helper()
	parent := t.TempDir()
	dest := filepath.Join(parent, "dest")
	_, err := ReadTar(context.Background(), r, dest, opts)
	if err == nil {
		t.Fatalf("ReadTar accepted the stream")
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %v: want kind %v", err, kind)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest is still there after a refused stream: %v", err)
	}
	if es, _ := os.ReadDir(parent); len(es) != 0 {
		t.Errorf("the refused stream left %v next to dest", es)
	}
}

func TestReadTarRefusesHostileStreams(t *testing.T) {
	outside := t.TempDir()
	cases := []struct {
		name string
		es   []entry
		opts TarOptions
		kind error
		want string
	}{
		{"dotdot", []entry{file("ok.txt", "x"), file("../escape", "pwned")}, TarOptions{}, ErrCorrupt, `".."`},
		{"dotdot inside", []entry{file("a/../../escape", "pwned")}, TarOptions{}, ErrCorrupt, `".."`},
		{"absolute", []entry{file(filepath.Join(outside, "abs"), "pwned")}, TarOptions{}, ErrCorrupt, "absolute"},
		{"file through a symlink out", []entry{dir("dir/"), symlink("dir/link", outside), file("dir/link/x", "pwned")}, TarOptions{}, ErrCorrupt, "through a symlink"},
		{"file through a symlink to a dir inside", []entry{dir("real/"), symlink("link", "real"), file("link/x", "pwned")}, TarOptions{}, ErrCorrupt, "through a symlink"},
		{"dir through a symlink", []entry{symlink("link", outside), dir("link/sub/")}, TarOptions{}, ErrCorrupt, "through a symlink"},
		{"symlink replaced by a file", []entry{symlink("a", outside), file("a", "pwned")}, TarOptions{}, ErrCorrupt, "twice"},
		{"file then dir", []entry{file("a", "x"), dir("a/")}, TarOptions{}, ErrCorrupt, "twice"},
		{"through a file", []entry{file("a", "x"), file("a/b", "y")}, TarOptions{}, ErrCorrupt, "through a symlink or file"},
		{"hardlink", []entry{{name: "passwd", typ: tar.TypeLink, link: "/etc/passwd"}}, TarOptions{}, ErrCorrupt, "hard link"},
		{"hardlink inside", []entry{file("a", "x"), {name: "b", typ: tar.TypeLink, link: "a"}}, TarOptions{}, ErrCorrupt, "hard link"},
		{"huge file", []entry{file("big", strings.Repeat("z", 4096))}, TarOptions{MaxBytes: 4095}, ErrTooBig, "more than"},
		{"many small files", []entry{file("a", "12"), file("b", "34"), file("c", "56")}, TarOptions{MaxBytes: 5}, ErrTooBig, "more than 5 B"},
		{"too many files", []entry{file("a", ""), file("b", ""), file("c", "")}, TarOptions{MaxFiles: 2}, ErrTooBig, "more than 2 files"},
		{"too deep", []entry{file(strings.Repeat("d/", 10)+"f", "")}, TarOptions{MaxDepth: 10}, ErrTooBig, "deeper than 10"},
		{"name too long", []entry{file(strings.Repeat("n", 300), "")}, TarOptions{}, ErrTooBig, "longer than 255"},
		{"path too long", []entry{file(strings.Repeat("n/", 60)+"f", "")}, TarOptions{MaxNameLen: 100}, ErrTooBig, "longer than 100 bytes"},
		{"empty symlink", []entry{symlink("l", "")}, TarOptions{}, ErrCorrupt, "empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refused(t, makeTar(t, c.es...), c.opts, c.kind, c.want)
			if es, _ := os.ReadDir(outside); len(es) != 0 {
				t.Fatalf("the stream wrote outside dest: %v", es)
			}
		})
	}
}

func TestReadTarManyEmptyDirs(t *testing.T) {
	// A stream that costs the agent little and us much: an endless run of
	// tiny entries is stopped by MaxFiles, however small each is.
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for i := 0; ; i++ {
			if err := tw.WriteHeader(&tar.Header{Name: strings.Repeat("d", i%200+1) + "/" + string(rune('a'+i%26)) + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return // the reader stopped
			}
			if i%1000 == 0 {
				tw.Flush()
			}
		}
	}()
	refused(t, pr, TarOptions{MaxFiles: 2000}, ErrTooBig, "more than 2000 files")
	pr.CloseWithError(errors.New("done"))
}

func TestReadTarNameBytesBounded(t *testing.T) {
	// Every name is kept in memory: long names, each within MaxNameLen,
	// must not add up to gigabytes. (FIFOs, which are skipped, keep the
	// test quick; their names count all the same.)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		long := strings.Repeat(strings.Repeat("n", 250)+"/", 15)
		for i := 0; ; i++ {
			if err := tw.WriteHeader(&tar.Header{Name: long + fmt.Sprint(i), Typeflag: tar.TypeFifo, Linkname: long, Mode: 0o644}); err != nil {
				return
			}
		}
	}()
	refused(t, pr, TarOptions{MaxNameBytes: 1 << 20}, ErrTooBig, "names add up to more than 1.0 MiB")
	pr.CloseWithError(errors.New("done"))
}

func TestReadTarTruncatedStream(t *testing.T) {
	b := makeTar(t, file("a", strings.Repeat("x", 2000)))
	refused(t, bytes.NewReader(b.Bytes()[:1024]), TarOptions{}, ErrCorrupt, "")
}

func TestReadTarDestMustNotExist(t *testing.T) {
	dest := t.TempDir()
	writeFile(t, filepath.Join(dest, "prepared"), "the agent's\n")
	if _, err := ReadTar(context.Background(), makeTar(t, file("a", "x")), dest, TarOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("ReadTar into an existing dir: %v, want ErrExist", err)
	}
	if readFile(t, filepath.Join(dest, "prepared")) != "the agent's\n" {
		t.Error("the existing dir was changed")
	}
	// A symlink at dest is not followed either.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTar(context.Background(), makeTar(t, file("a", "x")), link, TarOptions{}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("ReadTar onto a symlink: %v, want ErrExist", err)
	}
}

func TestReadTarSkipsAndMasks(t *testing.T) {
	weird := "we\nird\x1b[31m.txt"
	es := []entry{
		dir("./"),
		{name: "null", typ: tar.TypeChar},
		{name: "disk", typ: tar.TypeBlock},
		{name: "pipe", typ: tar.TypeFifo},
		{name: "suid", typ: tar.TypeReg, mode: 0o6755 | 0o1000, body: "#!/bin/sh\n"},
		{name: "ro", typ: tar.TypeReg, mode: 0o444, body: "read only\n"},
		{name: "unreadable", typ: tar.TypeReg, mode: 0o1000, body: "x\n"}, // sticky only: 0000 once masked
		{name: "rodir/", typ: tar.TypeDir, mode: 0o555},
		file("rodir/inside", "in\n"),
		file("implicit/parent/f", "made\n"),
		symlink("pw", "/etc/passwd"),
		symlink("up", "../../.."),
		file(weird, "w\n"),
	}
	dest := filepath.Join(t.TempDir(), "dest")
	st, err := ReadTar(context.Background(), makeTar(t, es...), dest, TarOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 3 || strings.Join(st.SkippedNames, ",") != "null,disk,pipe" {
		t.Errorf("skipped %d %q, want the 3 devices and FIFO", st.Skipped, st.SkippedNames)
	}
	if st.Files != 6 || st.Symlinks != 2 || st.Dirs != 3 {
		t.Errorf("stats %+v", st)
	}
	for _, n := range []string{"null", "disk", "pipe"} {
		if _, err := os.Lstat(filepath.Join(dest, n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was made: %v", n, err)
		}
	}
	mode := func(n string) fs.FileMode {
		fi, err := os.Lstat(filepath.Join(dest, n))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}
	if m := mode("suid"); m != 0o755 {
		t.Errorf("suid file has mode %v, want -rwxr-xr-x (no setuid, setgid, sticky)", m)
	}
	if m := mode("ro"); m != 0o444 {
		t.Errorf("read-only file has mode %v, want -r--r--r--", m)
	}
	if m := mode("unreadable"); m != 0o400 {
		t.Errorf("a 0000 file has mode %v, want the owner able to read it (-r--------)", m)
	}
	if m := mode("rodir"); m != fs.ModeDir|0o755 {
		t.Errorf("read-only dir has mode %v, want drwxr-xr-x", m)
	}
	if m := mode("."); m != fs.ModeDir|0o700 {
		t.Errorf("dest has mode %v, want drwx------ whatever ./ said", m)
	}
	for n, want := range map[string]string{"pw": "/etc/passwd", "up": "../../.."} {
		if mode(n)&fs.ModeSymlink == 0 {
			t.Errorf("%s is not a symlink", n)
		}
		if got, _ := os.Readlink(filepath.Join(dest, n)); got != want {
			t.Errorf("%s -> %q, want %q", n, got, want)
		}
	}
	if readFile(t, filepath.Join(dest, weird)) != "w\n" || readFile(t, filepath.Join(dest, "implicit/parent/f")) != "made\n" {
		t.Error("contents differ")
	}
}

func TestReadTarErrorsQuoteNames(t *testing.T) {
	// The name is the agent's: an error must not carry its newline or ESC
	// raw to a terminal or log.
	b := makeTar(t, file("../x\n\x1b[2Jevil", "x"))
	_, err := ReadTar(context.Background(), b, filepath.Join(t.TempDir(), "d"), TarOptions{})
	if err == nil || strings.ContainsAny(err.Error(), "\n\x1b") || !strings.Contains(err.Error(), `\n\x1b[2Jevil`) {
		t.Fatalf("error %q: want the name escaped", err)
	}
}

func TestReadTarContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := filepath.Join(t.TempDir(), "d")
	if _, err := ReadTar(ctx, makeTar(t, file("a", "x")), dest, TarOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest left after cancel: %v", err)
	}
}
