package docker

import (
	"archive/tar"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/backend"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
agent:x:1001:1002:Agent,,,:/home/agent:/bin/bash
`

const testGroup = `root:x:0:
staff:x:50:agent
agent:x:1002:
`

func TestParsePasswdHostile(t *testing.T) {
	long := strings.Repeat("a", 65)
	in := strings.Join([]string{
		"root:x:0:0:root:/root:/bin/bash",
		"# a comment:x:1:1::/c:/bin/sh",
		"+nis:x:2:2::/n:/bin/sh",
		"-nis:x:3:3::/n:/bin/sh",
		"short:x:4:4",
		"toolong:x:5:5:::/h:/bin/sh:extra",
		"neg:x:-1:6::/h:/bin/sh",
		"big:x:2147483648:7::/h:/bin/sh",
		"huge:x:99999999999999999999:8::/h:/bin/sh",
		"hex:x:0x10:9::/h:/bin/sh",
		"space:x: 10:10::/h:/bin/sh",
		"plus:x:+11:11::/h:/bin/sh",
		long + ":x:12:12::/h:/bin/sh",
		"bad\x1bname:x:13:13::/h:/bin/sh",
		"bad name:x:14:14::/h:/bin/sh",
		"dotdot:x:15:15::/home/../etc:/bin/sh",
		"relative:x:16:16::home/rel:/bin/sh",
		"slash:x:17:17::/:/bin/sh",
		"trailing:x:18:18::/home/t/:/bin/sh",
		"ctl:x:19:19::/home/\x1b[2J:/bin/sh",
		"comma:x:20:20::/home/a,b:/bin/sh",
		"crlf:x:21:21::/home/crlf\r",
		"",
		"max:x:2147483647:2147483647::/home/max:/bin/sh",
		"ok.name-1$:x:1001:1001::/home/ok:/bin/sh",
	}, "\n")
	got := parsePasswd([]byte(in))
	want := []account{
		{name: "root", uid: 0, gid: 0, home: "/root"},
		{name: "dotdot", uid: 15, gid: 15},
		{name: "relative", uid: 16, gid: 16},
		{name: "slash", uid: 17, gid: 17},
		{name: "trailing", uid: 18, gid: 18},
		{name: "ctl", uid: 19, gid: 19},
		{name: "comma", uid: 20, gid: 20},
		{name: "max", uid: maxID, gid: maxID, home: "/home/max"},
		{name: "ok.name-1$", uid: 1001, gid: 1001, home: "/home/ok"},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d entries, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Not a text file at all: nothing, and no panic.
	if got := parsePasswd(bytes.Repeat([]byte{0xff, ':', 0, '\n'}, 1000)); len(got) != 0 {
		t.Errorf("binary input parsed to %+v", got)
	}
}

func TestResolveUser(t *testing.T) {
	pw, gr := parsePasswd([]byte(testPasswd)), parseGroup([]byte(testGroup))
	tests := []struct {
		name, spec string
		want       backend.ImageUser
		err        string // substring; "" for success
	}{
		{"no USER is root", "", backend.ImageUser{Name: "root", UID: 0, GID: 0, Home: "/root"}, ""},
		{"root by name", "root", backend.ImageUser{Name: "root", Home: "/root"}, ""},
		{"a name", "agent", backend.ImageUser{Name: "agent", UID: 1001, GID: 1002, Home: "/home/agent"}, ""},
		{"a known uid", "1001", backend.ImageUser{Name: "agent", UID: 1001, GID: 1002, Home: "/home/agent"}, ""},
		{"an unknown uid gets gid 0 and no home", "4242", backend.ImageUser{UID: 4242}, ""},
		{"name:group", "agent:staff", backend.ImageUser{Name: "agent", UID: 1001, GID: 50, Home: "/home/agent"}, ""},
		{"uid:gid", "4242:4343", backend.ImageUser{UID: 4242, GID: 4343}, ""},
		{"name:gid", "agent:7", backend.ImageUser{Name: "agent", UID: 1001, GID: 7, Home: "/home/agent"}, ""},
		{"only a group is root's", ":staff", backend.ImageUser{Name: "root", GID: 50, Home: "/root"}, ""},
		{"a missing user", "claude", backend.ImageUser{}, `USER "claude" is not in its /etc/passwd`},
		{"a missing group", "agent:wheel", backend.ImageUser{}, `group "wheel"`},
		{"a uid past the engine's range", "2147483648", backend.ImageUser{}, "not in its /etc/passwd"},
		{"control characters", "agent\x1b[2J", backend.ImageUser{}, "malformed"},
		{"too long", strings.Repeat("a", 300), backend.ImageUser{}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveUser(tt.spec, pw, gr)
			if tt.err != "" {
				if err == nil || !errors.Is(err, backend.ErrImageUser) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("resolveUser(%q) = %+v, %v; want an ErrImageUser naming %q", tt.spec, got, err, tt.err)
				}
				return
			}
			tt.want.Config = tt.spec
			if err != nil || got != tt.want {
				t.Fatalf("resolveUser(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestCanWrite(t *testing.T) {
	dir := func(uid, gid int, mode int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeDir, Uid: uid, Gid: gid, Mode: mode}
	}
	tests := []struct {
		name string
		hdr  *tar.Header
		want bool
	}{
		{"own 0755", dir(1001, 1001, 0o755), true},
		{"own 0555", dir(1001, 1001, 0o555), false},
		{"own but only group-writable", dir(1001, 5, 0o575), false},
		{"group 0770", dir(0, 1002, 0o770), true},
		{"group 0750", dir(0, 1002, 0o750), false},
		{"other 1777", dir(0, 0, 0o1777), true},
		{"root's 0755", dir(0, 0, 0o755), false},
		{"a link", &tar.Header{Typeflag: tar.TypeSymlink, Uid: 1001, Gid: 1002, Mode: 0o777}, false},
		{"a file", &tar.Header{Typeflag: tar.TypeReg, Uid: 1001, Gid: 1002, Mode: 0o777}, false},
	}
	for _, tt := range tests {
		if got := canWrite(tt.hdr, 1001, 1002); got != tt.want {
			t.Errorf("%s: canWrite = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFirstFileBounds(t *testing.T) {
	mk := func(hdr tar.Header, body []byte) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
		tw.Close()
		return &b
	}
	if data, link, err := firstFile(mk(tar.Header{Name: "passwd", Typeflag: tar.TypeReg, Size: 4, Mode: 0o644}, []byte("a:b\n")), "/etc/passwd"); err != nil || link != "" || string(data) != "a:b\n" {
		t.Errorf("regular file: %q %q %v", data, link, err)
	}
	if _, link, err := firstFile(mk(tar.Header{Name: "passwd", Typeflag: tar.TypeSymlink, Linkname: "../usr/passwd"}, nil), "/etc/passwd"); err != nil || link != "../usr/passwd" {
		t.Errorf("link: %q %v", link, err)
	}
	big := make([]byte, maxAccountFile+1)
	if _, _, err := firstFile(mk(tar.Header{Name: "passwd", Typeflag: tar.TypeReg, Size: int64(len(big)), Mode: 0o644}, big), "/etc/passwd"); !errors.Is(err, backend.ErrImageUser) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a huge passwd: %v", err)
	}
	for _, typ := range []byte{tar.TypeDir, tar.TypeFifo, tar.TypeChar} {
		if _, _, err := firstFile(mk(tar.Header{Name: "passwd", Typeflag: typ, Mode: 0o644}, nil), "/etc/passwd"); !errors.Is(err, backend.ErrImageUser) {
			t.Errorf("type %c: %v", typ, err)
		}
	}
}
