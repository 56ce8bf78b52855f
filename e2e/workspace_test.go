package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestWorkspaceHostile: an agent in a real container commits a change and
// plants every git feature that runs a program (config keys, hooks,
// attribute filters and drivers, an include) plus a link out of the
// repository named like one of the user's files. diff, land and apply on
// the host, and the user's own git commands, show the change and run none
// of it: no sentinel appears, .git/config is unchanged, and nothing outside
// the repository is written.
func TestWorkspaceHostile(t *testing.T) {
	e := newSessionEnv(t)
	repo, parent := userRepo(t, map[string]string{
		"main.go":   "package main\n\nfunc main() {}\n",
		"README.md": "# project\n",
		"LICENSE":   "MIT\n",
	})
	outside := filepath.Join(parent, "outside")
	writeFiles(t, outside, map[string]string{"secret.txt": "OUTSIDE-SECRET-7f3a\n"})
	sentinels := filepath.Join(parent, "sentinels")
	if err := os.Mkdir(sentinels, 0o777); err != nil {
		t.Fatal(err)
	}
	configBefore, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}

	name := sname("ws-hostile")
	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--workdir", repo)
	ws := wsDir(e.home, name)
	if got := strings.TrimSpace(inSession(t, name, "git", "rev-parse", "--abbrev-ref", "HEAD")); got != "clauderon/"+name {
		t.Fatalf("the workspace is on branch %q, want clauderon/%s", got, name)
	}
	// The agent knows where its workspace lies on the host: the worst case.
	hostGit := filepath.Join(ws, ".git")
	evil := func(key string) string { return hostGit + "/evil-" + key + ".sh" }
	keys := []string{"fsmonitor", "pager", "ssh", "editor", "external", "include", "clean", "smudge", "process", "textconv", "diffcmd", "hook"}
	var script strings.Builder
	for _, k := range keys {
		script.WriteString("printf '#!/bin/sh\\ntouch " + sentinels + "/" + k + "\\ncat >/dev/null 2>&1 || true\\n' > .git/evil-" + k + ".sh\nchmod +x .git/evil-" + k + ".sh\n")
	}
	// The agent's own change first, then the plantings.
	script.WriteString(`printf 'package main\n\nfunc main() { println("agent") }\n' > main.go
` + agentGit + ` commit -q -am "agent change"
mkdir -p .git/evilhooks .git/hooks
for h in pre-commit post-commit post-checkout post-merge pre-push reference-transaction post-index-change pre-auto-gc post-rewrite fsmonitor-watchman; do
  cp .git/evil-hook.sh .git/hooks/$h; cp .git/evil-hook.sh .git/evilhooks/$h
done
chmod +x .git/hooks/* .git/evilhooks/*
git config core.fsmonitor ` + evil("fsmonitor") + `
git config core.hooksPath ` + hostGit + `/evilhooks
git config core.pager ` + evil("pager") + `
git config core.sshCommand ` + evil("ssh") + `
git config core.editor ` + evil("editor") + `
git config diff.external ` + evil("external") + `
git config filter.evil.clean ` + evil("clean") + `
git config filter.evil.smudge ` + evil("smudge") + `
git config filter.evil.process ` + evil("process") + `
git config filter.evil.required true
git config diff.evil.textconv ` + evil("textconv") + `
git config diff.evil.command ` + evil("diffcmd") + `
printf '[core]\n\tfsmonitor = ` + evil("include") + `\n' > .git/evil.inc
git config include.path ` + hostGit + `/evil.inc
printf '* filter=evil diff=evil\n' > .gitattributes
printf '# project\nagent notes\n' > README.md
rm LICENSE && ln -s ` + filepath.Join(outside, "secret.txt") + ` LICENSE
`)
	agentSh(t, name, script.String())
	before := snapshot(t, parent, repo)

	noSentinel := func(when string) {
		t.Helper()
		ents, err := os.ReadDir(sentinels)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			t.Errorf("after %s: the agent's %s ran on the host", when, e.Name())
		}
	}

	d := diffJSON(t, e.home, name)
	paths := changedPaths(d)
	if paths["main.go"] != "modified" || paths["README.md"] != "modified" || paths["LICENSE"] == "" || paths[".gitattributes"] != "added" {
		t.Errorf("diff names %v; want main.go, README.md, LICENSE and .gitattributes", paths)
	}
	text := clOK(t, e.home, "diff", name)
	if !strings.Contains(text, `println("agent")`) || !strings.Contains(text, "agent notes") {
		t.Errorf("diff lacks the agent's changes:\n%s", text)
	}
	if strings.Contains(text, "OUTSIDE-SECRET") {
		t.Error("diff followed the link out of the workspace and printed the file it names")
	}
	clOK(t, e.home, "diff", name, "--stat")
	noSentinel("diff")

	out := clOK(t, e.home, "land", name, "--tree", d.Tree)
	if !strings.Contains(out, "clauderon/"+name) {
		t.Errorf("land printed %q", out)
	}
	log := userGit(t, repo, "log", "-p", "clauderon/"+name)
	if !strings.Contains(log, `println("agent")`) || !strings.Contains(log, "agent notes") || !strings.Contains(log, "agent change") {
		t.Errorf("git log -p of the landed branch lacks the agent's commit or its uncommitted work:\n%s", log)
	}
	if strings.Contains(log, "OUTSIDE-SECRET") {
		t.Error("the landed branch holds the content of the file outside the repository")
	}
	if head := strings.TrimSpace(userGit(t, repo, "rev-parse", "--abbrev-ref", "HEAD")); head != "main" {
		t.Errorf("land moved the user's HEAD to %s", head)
	}
	if st := userGit(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("land changed the user's working tree:\n%s", st)
	}
	noSentinel("land")

	// The link leads out of the repository: apply refuses, and writes nothing.
	_, errOut, code := cl(t, e.home, "apply", name, "--tree", d.Tree)
	if code == 0 || !strings.Contains(errOut, "LICENSE") || !strings.Contains(errOut, "outside the repository") {
		t.Errorf("apply with a link out of the repository: exit %d, %s", code, errOut)
	}
	if st := userGit(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("a refused apply changed the user's working tree:\n%s", st)
	}
	agentSh(t, name, "rm LICENSE && printf 'MIT\\n' > LICENSE")
	// The work changed since the review: the reviewed tree is refused.
	if _, errOut, code := cl(t, e.home, "apply", name, "--tree", d.Tree); code == 0 || !strings.Contains(errOut, "changed since you reviewed it") {
		t.Errorf("apply of a tree that is no longer the work's: exit %d, %s", code, errOut)
	}
	if _, errOut, code := cl(t, e.home, "apply", name); code == 0 || !strings.Contains(errOut, "--tree") {
		t.Errorf("apply of a running session without --tree: exit %d, %s", code, errOut)
	}
	// A directory shaped like a git repository, whose config git would obey
	// as soon as the user ran a git command in it, is neither landed nor applied.
	agentSh(t, name, `mkdir -p tools/cache/objects/info tools/cache/refs/heads
printf 'ref: refs/heads/main\n' > tools/cache/HEAD
printf '[core]\n\tbare = false\n\tworktree = .\n\tfsmonitor = "touch `+sentinels+`/nested; false"\n' > tools/cache/config
touch tools/cache/objects/info/packs tools/cache/refs/heads/.keep`)
	planted := tree(t, e.home, name)
	for _, args := range [][]string{{"land", name, "--branch", "planted"}, {"apply", name}} {
		if _, errOut, code := cl(t, e.home, append(args, "--tree", planted)...); code == 0 || !strings.Contains(errOut, "tools/cache") {
			t.Errorf("%s of a planted git directory: exit %d, %s", args[0], code, errOut)
		}
	}
	if _, err := userGitErr(t, repo, "rev-parse", "--verify", "-q", "refs/heads/planted"); err == nil {
		t.Error("a refused land created its branch")
	}
	if _, err := os.Stat(filepath.Join(repo, "tools")); !os.IsNotExist(err) {
		t.Errorf("a refused apply wrote the planted git directory: %v", err)
	}
	agentSh(t, name, "rm -r tools")
	clOK(t, e.home, "apply", name, "--tree", tree(t, e.home, name))
	diff := userGit(t, repo, "diff")
	if !strings.Contains(diff, `println("agent")`) || !strings.Contains(diff, "agent notes") {
		t.Errorf("git diff after apply lacks the agent's changes:\n%s", diff)
	}
	if cached := userGit(t, repo, "diff", "--cached", "--name-only"); cached != "" {
		t.Errorf("apply staged %s; it must leave the index alone", cached)
	}
	// The user's own git, in their own repository, after all of it.
	userGit(t, repo, "status")
	userGit(t, repo, "log", "-p", "-3")
	noSentinel("the user's git status, log -p and diff")

	after, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(configBefore, after) {
		t.Errorf("the user's .git/config changed:\n%s\n---\n%s", configBefore, after)
	}
	if got := snapshot(t, parent, repo); !slices.Equal(before, got) {
		t.Errorf("something outside the repository was written:\nbefore %v\nafter  %v", before, got)
	}
}

// TestWorkspaceCarriesUncommitted: the user's staged, unstaged and
// untracked changes reach the workspace, an ignored .env does not (an
// --include'd .env.example does), and a landed branch holds the agent's
// commit and its uncommitted work on top of the user's. list shows the
// unlanded work, rm refuses to lose it, and --discard deletes it.
func TestWorkspaceCarriesUncommitted(t *testing.T) {
	e := newSessionEnv(t)
	repo, _ := userRepo(t, map[string]string{
		"a.txt":      "a\n",
		"b.txt":      "b\n",
		".gitignore": ".env\n.env.example\n",
	})
	writeFiles(t, repo, map[string]string{"a.txt": "a staged\n", "new.txt": "untracked\n", ".env": "SECRET=1\n", ".env.example": "SECRET=\n"})
	userGit(t, repo, "add", "a.txt")
	writeFiles(t, repo, map[string]string{"b.txt": "b unstaged\n"})
	indexBefore, err := os.ReadFile(filepath.Join(repo, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}

	name := sname("ws-work")
	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--workdir", repo, "--include", ".env.example")
	got := agentSh(t, name, "cat a.txt b.txt new.txt .env.example; test ! -e .env && echo no-env; git status --porcelain")
	for _, want := range []string{"a staged", "b unstaged", "untracked", "SECRET=", "no-env"} {
		if !strings.Contains(got, want) {
			t.Errorf("the workspace lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "SECRET=1") {
		t.Error("the ignored .env reached the workspace")
	}
	if d := diffJSON(t, e.home, name); len(d.Files) != 0 {
		t.Errorf("a fresh workspace's diff names %v: the user's own changes are its starting point", changedPaths(d))
	}

	agentSh(t, name, "printf 'agent\\n' > agent.txt && "+agentGit+" add agent.txt && "+agentGit+" commit -q -m 'agent commit' && printf 'b by agent\\n' > b.txt")
	waitFor(t, "list to show the unlanded work", func() bool {
		s, _ := findSession(listSessions(t, e.home), name)
		return s.Changes != nil && s.Changes.Unlanded && s.Changes.Files == 2
	})
	if l := clOK(t, e.home, "list"); !strings.Contains(l, "+2 files") {
		t.Errorf("list does not show +2 files:\n%s", l)
	}
	_, errOut, code := cl(t, e.home, "rm", "--force", name)
	if code == 0 || !strings.Contains(errOut, "never landed or applied") || !strings.Contains(errOut, "clauderon land "+name) || !strings.Contains(errOut, "--discard") {
		t.Fatalf("rm of unlanded work: exit %d, %s", code, errOut)
	}

	clOK(t, e.home, "land", name, "--branch", "agent/work", "--tree", tree(t, e.home, name))
	files := userGit(t, repo, "show", "agent/work:b.txt") + userGit(t, repo, "show", "agent/work:agent.txt") + userGit(t, repo, "show", "agent/work:a.txt") + userGit(t, repo, "show", "agent/work:new.txt")
	for _, want := range []string{"b by agent", "agent", "a staged", "untracked"} {
		if !strings.Contains(files, want) {
			t.Errorf("the landed branch lacks %q:\n%s", want, files)
		}
	}
	if _, err := userGitErr(t, repo, "cat-file", "-e", "agent/work:.env.example"); err == nil {
		t.Error("the landed branch holds the --include'd .env.example, which the user never committed")
	}
	subjects := userGit(t, repo, "log", "--format=%s", "main..agent/work")
	if !strings.Contains(subjects, "agent commit") || strings.Count(subjects, "\n") != 3 {
		t.Errorf("the landed branch's commits over main are:\n%s\nwant the user's uncommitted changes, the agent's commit and its work in progress", subjects)
	}
	indexAfter, _ := os.ReadFile(filepath.Join(repo, ".git", "index"))
	if !bytes.Equal(indexBefore, indexAfter) {
		t.Error("the user's index changed")
	}
	_, errOut, code = cl(t, e.home, "land", name, "--branch", "agent/work", "--tree", tree(t, e.home, name))
	if code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("a second land on the same branch: exit %d, %s", code, errOut)
	}
	clOK(t, e.home, "land", name, "--branch", "agent/work", "--force", "--tree", tree(t, e.home, name))

	// Landed work can go; new work after the land cannot, without --discard.
	agentSh(t, name, "printf 'more\\n' > more.txt")
	waitFor(t, "list to show the new work", func() bool {
		s, _ := findSession(listSessions(t, e.home), name)
		return s.Changes != nil && s.Changes.Unlanded
	})
	if _, errOut, code := cl(t, e.home, "rm", "--force", name); code == 0 {
		t.Fatalf("rm after more work: exit 0, %s", errOut)
	}
	clOK(t, e.home, "rm", "--force", "--discard", name)
	if _, err := os.Stat(wsDir(e.home, name)); !os.IsNotExist(err) {
		t.Errorf("the workspace is still there after rm --discard: %v", err)
	}
}

// TestWorkspacePlainFromAndKill: a directory outside git gets a workspace
// with a baseline commit and is diffed and applied like a repository;
// --from starts at a tag; and a daemon SIGKILL (its state file gone too)
// keeps a session's unlanded work diffable and landable.
func TestWorkspacePlainFromAndKill(t *testing.T) {
	e := newSessionEnv(t)

	plain := filepath.Join(t.TempDir(), "notes")
	writeFiles(t, plain, map[string]string{"todo.md": "- one\n", "sub/x.txt": "x\n"})
	pname := sname("ws-plain")
	clOK(t, e.home, "create", "--name", pname, "--image", e.image, "--workdir", plain)
	agentSh(t, pname, "printf -- '- one\\n- two\\n' > todo.md && rm sub/x.txt")
	d := diffJSON(t, e.home, pname)
	if p := changedPaths(d); p["todo.md"] != "modified" || p["sub/x.txt"] != "deleted" || len(p) != 2 {
		t.Errorf("plain directory diff: %v", p)
	}
	if _, errOut, code := cl(t, e.home, "land", pname, "--tree", tree(t, e.home, pname)); code == 0 || !strings.Contains(errOut, "clauderon apply") {
		t.Errorf("land of a plain directory: exit %d, %s", code, errOut)
	}
	clOK(t, e.home, "apply", pname, "--tree", tree(t, e.home, pname))
	if b, _ := os.ReadFile(filepath.Join(plain, "todo.md")); string(b) != "- one\n- two\n" {
		t.Errorf("apply wrote todo.md = %q", b)
	}
	if _, err := os.Stat(filepath.Join(plain, "sub", "x.txt")); !os.IsNotExist(err) {
		t.Error("apply did not delete sub/x.txt")
	}
	clOK(t, e.home, "rm", "--force", pname) // applied: nothing is lost

	repo, _ := userRepo(t, map[string]string{"v.txt": "one\n"})
	userGit(t, repo, "tag", "v1")
	writeFiles(t, repo, map[string]string{"v.txt": "two\n"})
	userGit(t, repo, "commit", "-q", "-am", "second")
	writeFiles(t, repo, map[string]string{"v.txt": "uncommitted\n"})
	fname := sname("ws-from")
	clOK(t, e.home, "create", "--name", fname, "--image", e.image, "--workdir", repo, "--from", "v1")
	if got := agentSh(t, fname, "cat v.txt"); got != "one\n" {
		t.Errorf("--from v1: v.txt = %q, want the tag's", got)
	}
	if _, errOut, code := cl(t, e.home, "create", "--name", sname("ws-badref"), "--image", e.image, "--workdir", repo, "--from", "no-such-ref"); code == 0 || !strings.Contains(errOut, "no-such-ref") {
		t.Errorf("--from an unknown ref: exit %d, %s", code, errOut)
	}

	agentSh(t, fname, "printf 'agent\\n' > v.txt && "+agentGit+" commit -q -am 'agent on v1'")
	e.d.kill()
	if err := os.Remove(filepath.Join(e.home, "sessions", fname, "session.json")); err != nil {
		t.Fatal(err)
	}
	e.d = startSessDaemon(t, e.home, 0)
	s, ok := findSession(listSessions(t, e.home), fname)
	if !ok || s.Workspace == nil || s.Changes == nil || !s.Changes.Unlanded {
		t.Fatalf("after a SIGKILL and a lost state file the session is %+v (listed %v)", s, ok)
	}
	if p := changedPaths(diffJSON(t, e.home, fname)); p["v.txt"] != "modified" {
		t.Errorf("diff after the restart: %v", p)
	}
	clOK(t, e.home, "land", fname, "--tree", tree(t, e.home, fname))
	if got := userGit(t, repo, "show", "clauderon/"+fname+":v.txt"); got != "agent\n" {
		t.Errorf("landed v.txt = %q", got)
	}
	if got := userGit(t, repo, "log", "--format=%s", "-1", "clauderon/"+fname+"^"); strings.TrimSpace(got) != "initial" {
		t.Errorf("the landed branch's base is %q, want the tag's commit", got)
	}

	// Commits on another branch of the workspace are work too, though land
	// does not bring them back: rm refuses to lose them.
	agentSh(t, fname, "git checkout -q -b feature && printf 'f\\n' > f.txt && git add f.txt && "+agentGit+" commit -q -m feature && git checkout -q clauderon/"+fname)
	if _, errOut, code := cl(t, e.home, "rm", "--force", fname); code == 0 || !strings.Contains(errOut, "other branch") {
		t.Errorf("rm with commits on another branch: exit %d, %s", code, errOut)
	}
	clOK(t, e.home, "rm", "--force", "--discard", fname)
}

// TestMountRace: a session that can write a directory swaps a component of
// a path below it between a directory and a link to / as fast as it can,
// while other sessions ask to mount (or copy) that path. None ever gets a
// container that sees anything but the checked directory: such paths are
// refused, since a container could swap them between the check and the
// mount. A mount outside every writable directory is the directory checked.
func TestMountRace(t *testing.T) {
	e := newSessionEnv(t)
	shared := workdir(t)
	if err := os.MkdirAll(filepath.Join(shared, "dir"), 0o777); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, shared, map[string]string{"dir/MARKER": "checked\n"})
	if err := os.Chmod(filepath.Join(shared, "dir"), 0o777); err != nil {
		t.Fatal(err)
	}
	attacker := sname("race-a")
	clOK(t, e.home, "create", "--name", attacker, "--image", e.image, "--no-workdir", "--mount", shared+":/data")
	go func() {
		// Ends with the container at cleanup.
		_, _ = dockerCLI(t, "exec", session.ContainerName(attacker), "sh", "-c",
			"cd /data; while :; do mv dir real; ln -s / dir; rm dir; mv real dir; done")
	}()

	victim := sname("race-b")
	for i := 0; i < 50; i++ {
		args := []string{"create", "--name", victim, "--image", e.image, "--no-workdir", "--mount", filepath.Join(shared, "dir") + ":/ref:ro"}
		if i%2 == 1 {
			args = []string{"create", "--name", victim, "--image", e.image, "--workdir", filepath.Join(shared, "dir")}
		}
		out, errOut, code := cl(t, e.home, args...)
		if code == 0 {
			got, _ := inSessionErr(t, victim, "cat", "/ref/MARKER")
			t.Fatalf("try %d: a session was created on a path the attacker can swap (it sees %q): %s", i, got, out)
		}
		// The guard itself may catch the swap half done: a link to /, or no
		// directory at all for a moment.
		if !strings.Contains(errOut, "can write") && !strings.Contains(errOut, "whole host filesystem") &&
			!strings.Contains(errOut, "does not exist") && !strings.Contains(errOut, "cannot be resolved") {
			t.Fatalf("try %d: refused for another reason: %s", i, errOut)
		}
	}
	// A writable mount above another session's mount is refused too.
	safe := workdir(t)
	writeFiles(t, safe, map[string]string{"ref/MARKER": "checked\n"})
	reader := sname("race-b")
	clOK(t, e.home, "create", "--name", reader, "--image", e.image, "--no-workdir", "--mount", filepath.Join(safe, "ref")+":/ref:ro")
	if got := inSession(t, reader, "cat", "/ref/MARKER"); got != "checked\n" {
		t.Errorf("a mount outside every writable directory shows %q", got)
	}
	if _, errOut, code := cl(t, e.home, "create", "--name", sname("race-c"), "--image", e.image, "--no-workdir", "--mount", safe+":/up"); code == 0 || !strings.Contains(errOut, "could swap") {
		t.Errorf("a writable mount above another session's mount: exit %d, %s", code, errOut)
	}
	// --mount DIR:/workspace replaces the workspace: the changes are there.
	direct := workdir(t)
	mname := sname("ws-mount")
	clOK(t, e.home, "create", "--name", mname, "--image", e.image, "--mount", direct+":/workspace")
	agentSh(t, mname, "echo direct > here.txt")
	if b, _ := os.ReadFile(filepath.Join(direct, "here.txt")); string(b) != "direct\n" {
		t.Errorf("a direct mount at /workspace: here.txt = %q", b)
	}
	if _, errOut, code := cl(t, e.home, "diff", mname); code == 0 || !strings.Contains(errOut, "no workspace") {
		t.Errorf("diff of a direct mount: exit %d, %s", code, errOut)
	}
}
