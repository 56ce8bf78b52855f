package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	outsideSecret   = "TOP-SECRET-OUTSIDE-5f1c"
	alternateSecret = "TOP-SECRET-ALTERNATE-9ad2"
)

// hostileSetup is a user repository and a workspace in one parent
// directory, with a secret file and another repository (holding a secret
// blob) next to them, and a directory where planted programs would leave a
// mark if anything ran them.
type hostileSetup struct {
	parent, repo, sentinels, outside, other string
	info                                    Info
}

func newHostile(t *testing.T) *hostileSetup {
	t.Helper()
	isolateGit(t)
	h := &hostileSetup{parent: t.TempDir()}
	h.repo = filepath.Join(h.parent, "repo")
	h.sentinels = filepath.Join(h.parent, "sentinels")
	h.outside = filepath.Join(h.parent, "outside", "secret.txt")
	h.other = filepath.Join(h.parent, "other")
	for _, d := range []string{h.repo, h.sentinels} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, h.outside, outsideSecret+"\n")
	userGit(t, h.parent, "init", "-q", h.other)
	writeFile(t, filepath.Join(h.other, "secret.txt"), alternateSecret+"\n")
	userGit(t, h.other, "add", "-A")
	userGit(t, h.other, "commit", "-q", "-m", "secret")

	userGit(t, h.parent, "init", "-q", h.repo)
	writeFile(t, filepath.Join(h.repo, "README.md"), "# readme\n")
	writeFile(t, filepath.Join(h.repo, "b.txt"), "bee\n")
	userGit(t, h.repo, "add", "-A")
	userGit(t, h.repo, "commit", "-q", "-m", "first")
	h.info = create(t, CreateOptions{Source: h.repo, Dir: filepath.Join(h.parent, "ws")})
	return h
}

// script is a program that leaves a mark named name if it ever runs.
func (h *hostileSetup) script(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(h.parent, "scripts", name)
	writeFile(t, p, fmt.Sprintf("#!/bin/sh\ntouch %s/%s\ncat >/dev/null 2>&1\nexit 0\n", h.sentinels, name))
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// plant makes the workspace as hostile as an agent can.
func (h *hostileSetup) plant(t *testing.T) {
	t.Helper()
	ws := h.info.Dir
	git := filepath.Join(ws, ".git")
	hooks := filepath.Join(git, "hooks")
	for _, hook := range []string{"pre-commit", "post-commit", "post-checkout", "reference-transaction", "post-index-change", "pre-push", "post-merge", "fsmonitor-watchman", "pre-auto-gc"} {
		p := filepath.Join(hooks, hook)
		writeFile(t, p, readFile(t, h.script(t, "hook-"+hook)))
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	inc := filepath.Join(git, "evil.inc")
	writeFile(t, inc, "[core]\n\tfsmonitor = "+h.script(t, "included-fsmonitor")+"\n")
	cfg := readFile(t, filepath.Join(git, "config")) + fmt.Sprintf(`[core]
	fsmonitor = %s
	hooksPath = %s
	pager = %s
	sshCommand = %s
	editor = %s
	askPass = %s
[diff]
	external = %s
[include]
	path = %s
[filter "evil"]
	clean = %s
	smudge = %s
	process = %s
	required = true
[diff "evil"]
	textconv = %s
	command = %s
[merge "evil"]
	driver = %s
`, h.script(t, "fsmonitor"), hooks, h.script(t, "pager"), h.script(t, "ssh"), h.script(t, "editor"), h.script(t, "askpass"),
		h.script(t, "diff-external"), inc, h.script(t, "clean"), h.script(t, "smudge"), h.script(t, "process"),
		h.script(t, "textconv"), h.script(t, "diff-command"), h.script(t, "merge-driver"))
	writeFile(t, filepath.Join(git, "config"), cfg)
	// Objects of another repository, and links out of the workspace.
	writeFile(t, filepath.Join(git, "objects", "info", "alternates"), filepath.Join(h.other, ".git", "objects")+"\n")
	for _, p := range []string{"refs/heads/other", "info/exclude", "packed-refs"} {
		os.MkdirAll(filepath.Dir(filepath.Join(git, p)), 0o755)
		if err := os.Symlink(h.outside, filepath.Join(git, p)); err != nil {
			t.Fatal(err)
		}
	}
}

func noSentinels(t *testing.T, h *hostileSetup) {
	t.Helper()
	if ents, _ := os.ReadDir(h.sentinels); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("planted programs ran: %q", names)
	}
}

func TestHostileWorkspace(t *testing.T) {
	h := newHostile(t)
	ws := h.info.Dir
	// The agent's real work, made before the planting (the test is the
	// agent here, and must not run what it plants).
	writeFile(t, filepath.Join(ws, ".gitattributes"), "* filter=evil diff=evil merge=evil\n")
	writeFile(t, filepath.Join(ws, "a.txt"), "agent line\n")
	agentGit(t, h.info, "add", "-A")
	agentGit(t, h.info, "commit", "-q", "-m", "agent: real change")
	writeFile(t, filepath.Join(ws, "b.txt"), "bee\nuncommitted agent line\n")
	h.plant(t)
	// README.md, a user file, now leads to a secret outside.
	if err := os.Remove(filepath.Join(ws, "README.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h.outside, filepath.Join(ws, "README.md")); err != nil {
		t.Fatal(err)
	}

	userConfig := readFile(t, filepath.Join(h.repo, ".git", "config"))
	skip := []string{h.repo, ws}
	outsideBefore := listing(t, h.parent, skip...)
	ctx := ctxTimeout(t, time.Minute)
	var seen []string // everything we got back, to look for the secrets

	d, err := h.info.Diff(ctx, DiffOptions{Patches: true})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	b, _ := json.Marshal(d)
	seen = append(seen, string(b))
	files := filesByPath(d)
	if c := files["README.md"]; c.NewMode != "120000" || !strings.Contains(c.Patch, "+"+h.outside) {
		t.Errorf("README.md = %+v, want a symlink (its target shown, not followed)", c)
	}
	if c := files["a.txt"]; c.Status != StatusAdded || !strings.Contains(c.Patch, "+agent line") {
		t.Errorf("a.txt = %+v, want added with the agent's line", c)
	}

	s, err := h.info.Summarize(ctx, nil)
	if err != nil || s.Files != len(d.Files) || s.Tree != d.Tree {
		t.Errorf("Summarize = %+v, %v; want %d files, tree %s", s, err, len(d.Files), d.Tree)
	}

	m, err := h.info.Land(ctx, LandOptions{})
	if err != nil {
		t.Fatalf("Land: %v", err)
	}
	if m.Tree != d.Tree {
		t.Errorf("landed tree %s, diff's %s", m.Tree, d.Tree)
	}

	_, err = h.info.Apply(ctx, ApplyOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"README.md" would become a symlink`) {
		t.Errorf("Apply with README.md escaping = %v, want ErrInvalid naming it", err)
	}
	if err != nil {
		seen = append(seen, err.Error())
	}
	// The agent puts README.md back; the rest applies.
	os.Remove(filepath.Join(ws, "README.md"))
	writeFile(t, filepath.Join(ws, "README.md"), "# readme\n")
	if _, err := h.info.Apply(ctx, ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	// The user, in their own repository, with their own git.
	log := userGit(t, h.repo, "log", "-p", "clauderon/x")
	status := userGit(t, h.repo, "status", "--porcelain")
	diff := userGit(t, h.repo, "diff")
	seen = append(seen, log, status, diff)
	if !strings.Contains(log, "+agent line") || !strings.Contains(log, "+uncommitted agent line") {
		t.Errorf("git log -p clauderon/x lacks the agent's work:\n%s", log)
	}
	if !strings.Contains(diff, "+uncommitted agent line") || !strings.Contains(status, "?? a.txt") {
		t.Errorf("the applied work is not in the user's tree: diff %q status %q", diff, status)
	}

	noSentinels(t, h)
	if readFile(t, filepath.Join(h.repo, ".git", "config")) != userConfig {
		t.Error("the user's .git/config changed")
	}
	for _, out := range seen {
		if strings.Contains(out, outsideSecret) || strings.Contains(out, alternateSecret) {
			t.Errorf("a secret leaked into %q", truncate(out, 300))
		}
	}
	if d := diffListings(outsideBefore, listing(t, h.parent, skip...)); len(d) > 0 {
		t.Errorf("something outside the repository and the workspace changed: %q", d)
	}
}

func TestHostileAlternatesNotRead(t *testing.T) {
	h := newHostile(t)
	// A commit whose tree names the other repository's secret blob, which
	// only the planted alternates could supply.
	secret := strings.TrimSpace(userGit(t, h.other, "rev-parse", "HEAD:secret.txt"))
	env := []string{"GIT_DIR=" + filepath.Join(h.info.Dir, ".git"), "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + h.info.ObjectsDir}
	tree := strings.TrimSpace(runGitIn(t, h.info.Dir, env, "100644 blob "+secret+"\tstolen.txt\n", "mktree", "--missing"))
	commit := strings.TrimSpace(runGit(t, h.info.Dir, env, "commit-tree", tree, "-p", "HEAD", "-m", "steal"))
	runGit(t, h.info.Dir, env, "update-ref", "HEAD", commit)
	h.plant(t)

	// Diff reads the working tree, never that blob.
	ctx := ctxTimeout(t, time.Minute)
	d, err := h.info.Diff(ctx, DiffOptions{Patches: true})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if b, _ := json.Marshal(d); strings.Contains(string(b), alternateSecret) {
		t.Fatal("Diff read the secret through the planted alternates")
	}
	// Land must copy the history, and cannot find the blob.
	_, err = h.info.Land(ctx, LandOptions{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not in the workspace") {
		t.Errorf("Land = %v, want ErrCorrupt: the blob is not in the workspace", err)
	}
	if err != nil && strings.Contains(err.Error(), alternateSecret) {
		t.Error("Land's error holds the secret")
	}
	if out := userGit(t, h.repo, "branch", "--list", "clauderon/x"); out != "" {
		t.Errorf("the branch was made: %q", out)
	}
	if err := exec.Command("git", "-C", h.repo, "cat-file", "-e", secret).Run(); err == nil {
		t.Error("the secret blob reached the user's repository")
	}
	noSentinels(t, h)
}

func TestHostileFIFOHead(t *testing.T) {
	h := newHostile(t)
	head := filepath.Join(h.info.Dir, ".git", "HEAD")
	os.Remove(head)
	mkfifo(t, head)
	for _, c := range []struct {
		name string
		call func(context.Context) error
	}{
		{"Diff", func(ctx context.Context) error { _, err := h.info.Diff(ctx, DiffOptions{}); return err }},
		{"Land", func(ctx context.Context) error { _, err := h.info.Land(ctx, LandOptions{}); return err }},
		{"Apply", func(ctx context.Context) error { _, err := h.info.Apply(ctx, ApplyOptions{}); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := ctxTimeout(t, 10*time.Second)
			done := make(chan error, 1)
			go func() { done <- c.call(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s = %v, want ErrCorrupt", c.name, err)
				}
			case <-time.After(5 * time.Second):
				// Let the blocked open return before the test's temp dir goes.
				f, _ := os.OpenFile(head, os.O_WRONLY|oNonblock, 0)
				if f != nil {
					f.Close()
				}
				t.Fatalf("%s hung on a FIFO at .git/HEAD", c.name)
			}
		})
	}
}

func TestHostileDotGitSymlink(t *testing.T) {
	h := newHostile(t)
	// .git now leads to another repository of the host.
	git := filepath.Join(h.info.Dir, ".git")
	if err := os.Rename(git, git+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(h.other, ".git"), git); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, time.Minute)
	d, err := h.info.Diff(ctx, DiffOptions{Patches: true})
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("Diff = %+v, %v; want ErrCorrupt", d, err)
	}
	if _, err := h.info.Land(ctx, LandOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Land = %v, want ErrCorrupt", err)
	}
	// Even a link inside the workspace is refused: .git must be the
	// workspace's own directory.
	os.Remove(git)
	if err := os.Symlink(".git.old", git); err != nil {
		t.Fatal(err)
	}
	if _, err := h.info.Diff(ctx, DiffOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Diff with .git -> .git.old = %v, want ErrCorrupt", err)
	}
}

func TestHostileForgedObject(t *testing.T) {
	h := newHostile(t)
	// A loose object named after one hash holding another object's content,
	// made HEAD.
	real := strings.TrimSpace(agentGit(t, h.info, "commit-tree", "HEAD^{tree}", "-m", "real"))
	forgedName := "1234567890123456789012345678901234567890"
	content := readLoose(t, h.info, real)
	p := filepath.Join(h.info.Dir, ".git", "objects", forgedName[:2], forgedName[2:])
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o444); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(h.info.Dir, ".git", "refs", "heads", "clauderon", "x"), forgedName+"\n")
	ctx := ctxTimeout(t, time.Minute)
	_, err := h.info.Diff(ctx, DiffOptions{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "forged") {
		t.Errorf("Diff = %v, want ErrCorrupt saying the object is forged", err)
	}
}

// readLoose reads an object's loose file from the workspace.
func readLoose(t *testing.T, info Info, hash string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(info.Dir, ".git", "objects", hash[:2], hash[2:]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHostilePlantingWorks proves the planting above would be caught: the
// host's git run in such a workspace runs the agent's programs.
func TestHostilePlantingWorks(t *testing.T) {
	h := newHostile(t)
	h.plant(t)
	writeFile(t, filepath.Join(h.info.Dir, "b.txt"), "changed\n")
	// git would refuse the planted packed-refs (printing the secret it
	// leads to), before running anything.
	os.Remove(filepath.Join(h.info.Dir, ".git", "packed-refs"))
	// (No .gitattributes: the planted "process" filter would never answer
	// git, which would then wait for the timeout.)
	cmd := exec.CommandContext(ctxTimeout(t, 20*time.Second), "git", "-C", h.info.Dir, "status")
	cmd.Env = append(os.Environ(), "GIT_ALTERNATE_OBJECT_DIRECTORIES="+h.info.ObjectsDir)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ents, _ := os.ReadDir(h.sentinels); len(ents) == 0 {
		t.Fatalf("git status in the planted workspace ran nothing (%v: %s); the hostile tests prove nothing", err, out)
	}
}
