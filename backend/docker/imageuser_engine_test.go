package docker_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/internal/testimage"
)

// userImage builds (once per content: the tag is its hash) an image FROM
// the test base whose Dockerfile ends with steps.
func (e env) userImage(t *testing.T, steps string) string {
	t.Helper()
	df := "FROM " + testimage.BaseImage + "\n" + steps + "\n"
	sum := sha256.Sum256([]byte(df))
	tag := "clauderon-test-imageuser:" + hex.EncodeToString(sum[:])[:16]
	if ok, err := e.b.ImageExists(e.ctx, tag); err != nil || ok {
		return tag
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string
	if err := e.b.BuildImage(e.ctx, dir, "", tag, func(l string) { lines = append(lines, l) }); err != nil {
		t.Fatalf("build %s: %v\n%s", tag, err, strings.Join(lines, "\n"))
	}
	return tag
}

// TestImageUserEngine reads real images' users: a named user with its home,
// a user whose home does not exist, root, and images whose account files are
// hostile (a link loop, a huge passwd, a USER that is not in it).
func TestImageUserEngine(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name, steps string
		want        backend.ImageUser
		err         string
	}{
		{"a named user", "RUN useradd --create-home --uid 1234 --user-group agent\nUSER agent",
			backend.ImageUser{Config: "agent", Name: "agent", UID: 1234, GID: 1234, Home: "/home/agent", HomeWritable: true}, ""},
		{"a user with no home, uid:group", "RUN useradd --uid 1235 --user-group nohome\nUSER 1235:root",
			backend.ImageUser{Config: "1235:root", Name: "nohome", UID: 1235, GID: 0, Home: "/home/nohome"}, ""},
		{"a home that is a link", "RUN useradd --uid 1236 --user-group linky && ln -s /tmp /home/linky\nUSER linky",
			backend.ImageUser{Config: "linky", Name: "linky", UID: 1236, GID: 1236, Home: "/home/linky"}, ""},
		{"a home that is a link loop", "RUN useradd --uid 1238 --user-group loopy && ln -s loopy /home/loopy\nUSER loopy",
			backend.ImageUser{Config: "loopy", Name: "loopy", UID: 1238, GID: 1238, Home: "/home/loopy"}, ""},
		{"passwd behind a link", "RUN mv /etc/passwd /etc/passwd.real && ln -s passwd.real /etc/passwd && useradd --create-home --uid 1237 -U linked || true\nUSER 0",
			backend.ImageUser{Config: "0", Name: "root", UID: 0, GID: 0, Home: "/root", HomeWritable: true}, ""},
		{"no USER", "RUN true",
			backend.ImageUser{Name: "root", UID: 0, GID: 0, Home: "/root", HomeWritable: true}, ""},
		{"a USER not in passwd", "USER ghost", backend.ImageUser{}, `"ghost" is not in its /etc/passwd`},
		{"a passwd link loop", "RUN rm /etc/passwd && ln -s passwd /etc/passwd\nUSER 1000", backend.ImageUser{}, "cannot read the image's /etc/passwd"},
		{"a huge passwd", "RUN head -c 2000000 /dev/zero > /etc/passwd.big && mv /etc/passwd.big /etc/passwd\nUSER 1000", backend.ImageUser{}, "larger than"},
		{"passwd is a directory", "RUN rm /etc/passwd && mkdir /etc/passwd\nUSER 1000", backend.ImageUser{}, "not a regular file"},
		// A writable home reached through a link (into /workspace, where
		// the engine would make the claude.json mount point in the
		// session's workspace on the host) is no home to use.
		{"a home below a link", "RUN mkdir -p /workspace/agent && useradd --no-create-home --home-dir /h/agent --uid 1239 --user-group viah && chown viah /workspace/agent && ln -s /workspace /h\nUSER viah",
			backend.ImageUser{Config: "viah", Name: "viah", UID: 1239, GID: 1239, Home: "/h/agent"}, ""},
		{"/home is a link", "RUN mv /home /realhome && ln -s /workspace /home\nUSER 1000", backend.ImageUser{}, "/home is a link"},
		{"a home whose .claude.json is a link", "RUN useradd --create-home --home-dir /srv/agent --uid 1240 --user-group clink && ln -s /workspace/planted /srv/agent/.claude.json\nUSER clink",
			backend.ImageUser{Config: "clink", Name: "clink", UID: 1240, GID: 1240, Home: "/srv/agent"}, ""},
		{"the made home's .claude.json is a link", "RUN mkdir -p /home/clauderon && ln -s /workspace/planted /home/clauderon/.claude.json", backend.ImageUser{}, "/home/clauderon/.claude.json is a link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := e.userImage(t, tt.steps)
			got, err := e.b.ImageUser(e.ctx, image)
			if tt.err != "" {
				if !errors.Is(err, backend.ErrImageUser) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ImageUser = %+v, %v; want an ErrImageUser naming %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ImageUser = %+v, %v; want %+v", got, err, tt.want)
			}
			if again, err := e.b.ImageUser(e.ctx, image); err != nil || again != got {
				t.Errorf("second ImageUser (cached) = %+v, %v", again, err)
			}
		})
	}
	if _, err := e.b.ImageUser(e.ctx, "clauderon-test-no-such-image:none"); !errors.Is(err, backend.ErrImageNotFound) {
		t.Errorf("ImageUser of a missing image = %v, want ErrImageNotFound", err)
	}
}

// TestCreateDirs: Create makes Spec.Dirs owned and moded as asked, parents
// included, before the container runs; a bad path creates no container.
func TestCreateDirs(t *testing.T) {
	e := setup(t)
	id := e.create(t, backend.Spec{
		Cmd:  []string{"stat", "-c", "%n %u:%g %a %F", "/home/made", "/home/made/home"},
		User: "4321:4322",
		Dirs: []backend.Dir{{Path: "/home/made/home", UID: 4321, GID: 4322, Mode: 0o700}},
	})
	got := strings.TrimSpace(e.output(t, id))
	want := "/home/made 0:0 755 directory\n/home/made/home 4321:4322 700 directory"
	if got != want {
		t.Errorf("stat of the made directories:\n got %q\nwant %q", got, want)
	}
	spec := backend.Spec{Image: e.image, Cmd: []string{"true"}, Labels: e.label, Dirs: []backend.Dir{{Path: "/home/../etc", Mode: 0o700}}}
	if id, err := e.b.Create(e.ctx, spec); err == nil {
		t.Errorf("Create with an unclean directory made %s", id)
	}
	if cs, _ := e.b.List(e.ctx, e.label); len(cs) != 1 {
		t.Errorf("containers after a failed Create: %d, want the first one only", len(cs))
	}
}
