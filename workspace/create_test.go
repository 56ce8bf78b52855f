package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateFromRepo(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	head := strings.TrimSpace(userGit(t, repo, "rev-parse", "HEAD"))
	writeFile(t, filepath.Join(repo, "b.txt"), "bee staged\n")
	userGit(t, repo, "add", "b.txt")
	writeFile(t, filepath.Join(repo, "a.txt"), "one\ntwo\nthree\nunstaged\n")
	writeFile(t, filepath.Join(repo, "new.txt"), "untracked\n")
	writeFile(t, filepath.Join(repo, ".env"), "SECRET=1\n")
	writeFile(t, filepath.Join(repo, "dir", ".env.example"), "SECRET=\n")

	gitDir := filepath.Join(repo, ".git")
	indexBefore := readFile(t, filepath.Join(gitDir, "index"))
	configBefore := readFile(t, filepath.Join(gitDir, "config"))
	objectsBefore := listing(t, filepath.Join(gitDir, "objects"))

	var lines []string
	info := create(t, CreateOptions{Source: filepath.Join(repo, "dir"), Progress: func(l string) { lines = append(lines, l) }})
	withIncludes := create(t, CreateOptions{Source: repo, Includes: []string{".env.example"}})

	t.Run("info", func(t *testing.T) {
		for _, c := range []struct{ name, got, want string }{
			{"Source", info.Source, repo},
			{"Subdir", info.Subdir, "dir"},
			{"GitDir", info.GitDir, gitDir},
			{"ObjectsDir", info.ObjectsDir, filepath.Join(gitDir, "objects")},
			{"Branch", info.Branch, "clauderon/x"},
			{"Base", info.Base, head},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if !info.Git {
			t.Error("Git = false, want true")
		}
		if info.Baseline == "" || info.Baseline == head {
			t.Errorf("Baseline = %q, want a new commit on top of %s", info.Baseline, head)
		}
		if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "copied ") {
			t.Errorf("progress lines = %q, want a few ending in \"copied ...\"", lines)
		}
	})

	t.Run("files", func(t *testing.T) {
		for _, c := range []struct{ path, want string }{
			{"a.txt", "one\ntwo\nthree\nunstaged\n"},
			{"b.txt", "bee staged\n"},
			{"new.txt", "untracked\n"},
			{"dir/c.txt", "sea\n"},
		} {
			if got := readFile(t, filepath.Join(info.Dir, c.path)); got != c.want {
				t.Errorf("%s = %q, want %q", c.path, got, c.want)
			}
		}
		for _, p := range []string{".env", "dir/.env.example", ".git/hooks"} {
			if exists(filepath.Join(info.Dir, p)) {
				t.Errorf("%s was copied, want not", p)
			}
		}
		if got := readFile(t, filepath.Join(withIncludes.Dir, "dir", ".env.example")); got != "SECRET=\n" {
			t.Errorf("included dir/.env.example = %q, want %q", got, "SECRET=\n")
		}
		if exists(filepath.Join(withIncludes.Dir, ".env")) {
			t.Error(".env was copied with Includes [.env.example], want not")
		}
	})

	t.Run("repository", func(t *testing.T) {
		ws := filepath.Join(info.Dir, ".git")
		for _, c := range []struct{ path, want string }{
			{"HEAD", "ref: refs/heads/clauderon/x\n"},
			{"refs/heads/clauderon/x", info.Baseline + "\n"},
			{"objects/info/alternates", ContainerObjects + "\n"},
		} {
			if got := readFile(t, filepath.Join(ws, c.path)); got != c.want {
				t.Errorf(".git/%s = %q, want %q", c.path, got, c.want)
			}
		}
		if got := agentGit(t, info, "rev-parse", "HEAD^"); strings.TrimSpace(got) != head {
			t.Errorf("the baseline's parent = %q, want the user's HEAD %s", got, head)
		}
		tree := agentGit(t, withIncludes, "ls-tree", "-r", "--name-only", withIncludes.Baseline)
		if strings.Contains(tree, ".env.example") || !strings.Contains(tree, "new.txt") {
			t.Errorf("baseline tree = %q, want new.txt and no .env.example", tree)
		}
		if st := agentGit(t, info, "status", "--porcelain"); st != "" {
			t.Errorf("git status in the new workspace = %q, want clean", st)
		}
	})

	t.Run("user repository untouched", func(t *testing.T) {
		if readFile(t, filepath.Join(gitDir, "index")) != indexBefore {
			t.Error("the user's index changed")
		}
		if readFile(t, filepath.Join(gitDir, "config")) != configBefore {
			t.Error("the user's .git/config changed")
		}
		if d := diffListings(objectsBefore, listing(t, filepath.Join(gitDir, "objects"))); len(d) > 0 {
			t.Errorf("the user's objects changed: %q", d)
		}
	})
}

func TestCreateFrom(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	first := strings.TrimSpace(userGit(t, repo, "rev-parse", "HEAD"))
	userGit(t, repo, "tag", "v1")
	writeFile(t, filepath.Join(repo, "a.txt"), "changed\n")
	userGit(t, repo, "commit", "-q", "-am", "second")
	writeFile(t, filepath.Join(repo, "untracked.txt"), "x\n")

	info := create(t, CreateOptions{Source: repo, From: "v1"})
	if info.Base != first || info.Baseline != first {
		t.Errorf("Base, Baseline = %s, %s; want both %s", info.Base, info.Baseline, first)
	}
	if got := readFile(t, filepath.Join(info.Dir, "a.txt")); got != "one\ntwo\nthree\n" {
		t.Errorf("a.txt = %q, want v1's", got)
	}
	if exists(filepath.Join(info.Dir, "untracked.txt")) {
		t.Error("an uncommitted file was carried with From")
	}

	for _, from := range []string{"nope", "--upload-pack=touch /tmp/x", "a\x1bb", strings.Repeat("a", 300), "HEAD:a.txt"} {
		t.Run(from[:min(len(from), 20)], func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ws")
			_, err := Create(context.Background(), CreateOptions{Source: repo, Dir: dir, Branch: "clauderon/y", From: from, Chown: -1})
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Create(From %q) = %v, want ErrInvalid", from, err)
			}
			if exists(dir) {
				t.Error("the workspace directory was left behind")
			}
		})
	}
}

func TestCreatePlainDir(t *testing.T) {
	isolateGit(t)
	src := filepath.Join(t.TempDir(), "plain")
	writeFile(t, filepath.Join(src, "main.go"), "package main\n")
	writeFile(t, filepath.Join(src, "sub", "x.txt"), "x\n")
	writeFile(t, filepath.Join(src, "debug.log"), "noise\n")
	writeFile(t, filepath.Join(src, ".gitignore"), "*.log\n")
	if err := os.Symlink("main.go", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}

	info := create(t, CreateOptions{Source: src, Includes: []string{"*.log"}})
	if info.Git || info.Base != "" || info.Baseline == "" || info.Source != src {
		t.Errorf("Info = %+v, want Git false, no Base, a Baseline, Source %s", info, src)
	}
	for _, c := range []struct{ path, want string }{
		{"main.go", "package main\n"},
		{"sub/x.txt", "x\n"},
		{"debug.log", "noise\n"}, // included
	} {
		if got := readFile(t, filepath.Join(info.Dir, c.path)); got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
	if target, err := os.Readlink(filepath.Join(info.Dir, "link")); err != nil || target != "main.go" {
		t.Errorf("link = %q, %v; want a symlink to main.go", target, err)
	}
	if exists(filepath.Join(info.Dir, ".git", "objects", "info", "alternates")) {
		t.Error("a plain directory's workspace has alternates")
	}
	if tree := agentGit(t, info, "ls-tree", "-r", "--name-only", info.Baseline); strings.Contains(tree, "debug.log") {
		t.Errorf("baseline = %q, want no included file", tree)
	}

	dir := filepath.Join(t.TempDir(), "ws")
	_, err := Create(context.Background(), CreateOptions{Source: src, Dir: dir, Branch: "clauderon/x", MaxBytes: 10, Chown: -1})
	if !errors.Is(err, ErrTooBig) || !strings.Contains(err.Error(), "max_copy_bytes") {
		t.Errorf("Create with MaxBytes 10 = %v, want ErrTooBig naming the setting", err)
	}
	if exists(dir) {
		t.Error("the workspace directory was left behind")
	}
}

func TestCreateRefuses(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	other := newRepo(t)
	taken := filepath.Join(t.TempDir(), "taken")
	if err := os.Mkdir(taken, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(other, ".git", "objects", "info", "alternates"), filepath.Join(repo, ".git", "objects")+"\n")
	for _, c := range []struct {
		name string
		o    CreateOptions
		want error
	}{
		{"inside .git", CreateOptions{Source: filepath.Join(repo, ".git")}, ErrInvalid},
		{"alternates", CreateOptions{Source: other}, ErrInvalid},
		{"bad branch", CreateOptions{Source: repo, Branch: "clauderon/../x"}, ErrInvalid},
		{"bad glob", CreateOptions{Source: repo, Includes: []string{"[x"}}, ErrInvalid},
		{"relative source", CreateOptions{Source: "repo"}, ErrInvalid},
		{"dir exists", CreateOptions{Source: repo, Dir: taken}, os.ErrExist},
		{"repo refused", CreateOptions{Source: filepath.Join(repo, "dir"), CheckRepo: func(Repo) error { return ErrInvalid }}, ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			if o.Dir == "" {
				o.Dir = filepath.Join(t.TempDir(), "ws")
			}
			if o.Branch == "" {
				o.Branch = "clauderon/x"
			}
			o.Chown = -1
			_, err := Create(context.Background(), o)
			if !errors.Is(err, c.want) {
				t.Errorf("Create = %v, want %v", err, c.want)
			}
			if o.Dir != taken && exists(o.Dir) {
				t.Error("the workspace directory was left behind")
			}
		})
	}
	if !exists(taken) {
		t.Error("Create removed a directory it did not make")
	}
}

func TestCreateWorldWritable(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	if err := os.Chmod(filepath.Join(repo, "a.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	info := create(t, CreateOptions{Source: repo, WorldWritable: true})
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{"", 0o777},
		{"dir", 0o777},
		{"a.txt", 0o777},
		{"b.txt", 0o666},
		{".git/HEAD", 0o666},
	} {
		fi, err := os.Lstat(filepath.Join(info.Dir, c.path))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("mode of %q = %o, want %o", c.path, got, c.want)
		}
	}
}

func TestCreateUnbornAndBare(t *testing.T) {
	isolateGit(t)
	repo := filepath.Join(t.TempDir(), "fresh")
	userGit(t, filepath.Dir(repo), "init", "-q", repo)
	writeFile(t, filepath.Join(repo, "first.txt"), "not committed yet\n")
	if err := os.Symlink("first.txt", filepath.Join(repo, "link.local")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, ".gitignore"), "*.local\n")
	info := create(t, CreateOptions{Source: repo, Includes: []string{"*.local"}})
	if info.Base != "" || info.Baseline == "" {
		t.Errorf("Base %q Baseline %q, want none and a root commit", info.Base, info.Baseline)
	}
	if got := readFile(t, filepath.Join(info.Dir, "first.txt")); got != "not committed yet\n" {
		t.Errorf("first.txt = %q", got)
	}
	if target, err := os.Readlink(filepath.Join(info.Dir, "link.local")); err != nil || target != "first.txt" {
		t.Errorf("included link.local = %q, %v; want a symlink to first.txt", target, err)
	}
	if parents := agentGit(t, info, "rev-list", "--parents", "-n1", "HEAD"); len(strings.Fields(parents)) != 1 {
		t.Errorf("baseline %q has parents, want a root commit", parents)
	}

	bare := filepath.Join(t.TempDir(), "bare.git")
	userGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	_, err := Create(context.Background(), CreateOptions{Source: bare, Dir: filepath.Join(t.TempDir(), "ws"), Branch: "clauderon/x", Chown: -1})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Create from a bare repository = %v, want ErrInvalid", err)
	}
}

// TestCreateResolvesRepoPaths: git prints where a repository keeps things
// as text, symlinks and all; what is checked and mounted is where they
// lead.
func TestCreateResolvesRepoPaths(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	parent := filepath.Dir(repo)
	// The object store lives elsewhere, through a symlink another container
	// could swap; and the repository is reached through a symlink too.
	store := filepath.Join(parent, "store", "objects")
	if err := os.MkdirAll(filepath.Dir(store), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(repo, ".git", "objects"), store); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "..", "store", "objects"), filepath.Join(repo, ".git", "objects")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(parent, "link")
	if err := os.Symlink("repo", link); err != nil {
		t.Fatal(err)
	}
	var got []Repo
	info := create(t, CreateOptions{Source: filepath.Join(link, "dir"), CheckRepo: func(r Repo) error { got = append(got, r); return nil }})
	want := Repo{Top: repo, GitDir: filepath.Join(repo, ".git"), CommonDir: filepath.Join(repo, ".git"), ObjectsDir: store}
	if len(got) != 1 || got[0] != want {
		t.Errorf("CheckRepo saw %+v, want once %+v", got, want)
	}
	if info.ObjectsDir != store || info.GitDir != want.GitDir || info.Source != repo || info.Subdir != "dir" {
		t.Errorf("Info = %+v, want the resolved paths %+v (and Subdir dir)", info, want)
	}

	t.Run("linked worktree", func(t *testing.T) {
		wt := filepath.Join(parent, "wt")
		userGit(t, repo, "worktree", "add", "-q", "-b", "feature", wt)
		var got []Repo
		create(t, CreateOptions{Source: wt, CheckRepo: func(r Repo) error { got = append(got, r); return nil }})
		want := Repo{Top: wt, GitDir: filepath.Join(repo, ".git", "worktrees", "wt"), CommonDir: filepath.Join(repo, ".git"), ObjectsDir: store}
		if len(got) != 1 || got[0] != want {
			t.Errorf("CheckRepo saw %+v, want once %+v", got, want)
		}
	})

	t.Run("plain directory", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "plain")
		writeFile(t, filepath.Join(src, "x.txt"), "x\n")
		plainLink := filepath.Join(t.TempDir(), "plain-link")
		if err := os.Symlink(src, plainLink); err != nil {
			t.Fatal(err)
		}
		var got []Repo
		info := create(t, CreateOptions{Source: plainLink, CheckRepo: func(r Repo) error { got = append(got, r); return nil }})
		if len(got) != 1 || got[0] != (Repo{Top: src}) {
			t.Errorf("CheckRepo saw %+v, want once {Top: %s}", got, src)
		}
		if info.Source != src {
			t.Errorf("Source = %s, want the resolved %s", info.Source, src)
		}
	})
}

// TestCheckRepoBeforeGitReadsConfig: the caller refuses a repository whose
// git directory a container can write; by then git must not have obeyed
// its config (a clean filter runs at `git add`).
func TestCheckRepoBeforeGitReadsConfig(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	mark := filepath.Join(t.TempDir(), "filter-ran")
	script := filepath.Join(t.TempDir(), "clean.sh")
	writeFile(t, script, "#!/bin/sh\ntouch "+mark+"\ncat\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	userGit(t, repo, "config", "filter.planted.clean", script)
	writeFile(t, filepath.Join(repo, ".gitattributes"), "* filter=planted\n")
	writeFile(t, filepath.Join(repo, "a.txt"), "changed, so that add -A cleans it\n")
	refused := errors.New("refused by the caller")
	for _, source := range []string{repo, filepath.Join(repo, "dir")} {
		dir := filepath.Join(t.TempDir(), "ws")
		_, err := Create(context.Background(), CreateOptions{Source: source, Dir: dir, Branch: "clauderon/x", Chown: -1,
			CheckRepo: func(Repo) error { return refused }})
		if err != refused {
			t.Errorf("Create(%s) = %v, want the caller's error as it is", source, err)
		}
		if exists(mark) {
			t.Fatalf("Create(%s) ran the repository's filter before asking the caller", source)
		}
		if exists(dir) {
			t.Error("the workspace directory was left behind")
		}
	}
	// Allowed, the copy runs the filter: the test above proves something.
	create(t, CreateOptions{Source: repo, CheckRepo: func(Repo) error { return nil }})
	if !exists(mark) {
		t.Fatal("the repository's filter never ran, even when the copy was allowed")
	}
}
