package workspace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const escName = "esc\x1b[31mred.txt"

// agentSession is what an agent typically leaves: one commit, and
// uncommitted work of every kind.
func agentSession(t *testing.T, info Info) {
	t.Helper()
	writeFile(t, filepath.Join(info.Dir, "a.txt"), "one\ntwo\nthree\nfour\n")
	agentGit(t, info, "commit", "-q", "-am", "agent: four")
	writeFile(t, filepath.Join(info.Dir, "b.txt"), "bee\nmore bee\n")
	writeFile(t, filepath.Join(info.Dir, "new.txt"), "brand new\n")
	if err := os.Remove(filepath.Join(info.Dir, "dir", "c.txt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(info.Dir, "bin.dat"), "\x00\x01\x02binary")
	writeFile(t, filepath.Join(info.Dir, escName), "escape\n")
	writeFile(t, filepath.Join(info.Dir, "node_modules", "x.js"), "ignored\n")
	writeFile(t, filepath.Join(info.Dir, ".gitignore"), ".env\n.env.example\nnode_modules/\n")
}

func TestDiff(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)

	d, err := info.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if d.Commits != 1 || !d.Uncommitted || d.Baseline != info.Baseline || d.Truncated {
		t.Errorf("Diff = commits %d, uncommitted %v, baseline %s, truncated %v; want 1, true, %s, false",
			d.Commits, d.Uncommitted, d.Baseline, d.Truncated, info.Baseline)
	}
	if head := strings.TrimSpace(agentGit(t, info, "rev-parse", "HEAD")); d.Head != head {
		t.Errorf("Head = %s, want %s", d.Head, head)
	}
	// The tree must be what git itself would record for the working tree.
	agentGit(t, info, "add", "-A")
	if want := strings.TrimSpace(agentGit(t, info, "write-tree")); d.Tree != want {
		t.Errorf("Tree = %s, want git's %s", d.Tree, want)
	}

	files := filesByPath(d)
	want := []struct {
		path, status string
		adds, dels   int
		binary       bool
	}{
		{".gitignore", StatusModified, 1, 0, false},
		{"a.txt", StatusModified, 1, 0, false},
		{"b.txt", StatusModified, 1, 0, false},
		{"bin.dat", StatusAdded, 0, 0, true},
		{"dir/c.txt", StatusDeleted, 0, 1, false},
		{escName, StatusAdded, 1, 0, false},
		{"new.txt", StatusAdded, 1, 0, false},
	}
	if len(d.Files) != len(want) {
		t.Errorf("Diff lists %d files, want %d: %+v", len(d.Files), len(want), d.Files)
	}
	for _, w := range want {
		c, ok := files[w.path]
		if !ok {
			t.Errorf("%q missing from the diff", w.path)
			continue
		}
		if c.Status != w.status || c.Additions != w.adds || c.Deletions != w.dels || c.Binary != w.binary {
			t.Errorf("%q = %s +%d -%d binary %v, want %s +%d -%d binary %v",
				w.path, c.Status, c.Additions, c.Deletions, c.Binary, w.status, w.adds, w.dels, w.binary)
		}
		if w.binary && c.Patch != "" {
			t.Errorf("%q is binary but has a patch", w.path)
		}
		if !w.binary && !strings.HasPrefix(c.Patch, "diff --git ") {
			t.Errorf("%q patch = %q, want a git-style patch", w.path, c.Patch)
		}
	}
	if c := files["bin.dat"]; c.NewSize != 9 || c.NewMode != "100644" || c.OldMode != "" {
		t.Errorf("bin.dat = size %d mode %q old mode %q, want 9, 100644, none", c.NewSize, c.NewMode, c.OldMode)
	}
	if p := files["a.txt"].Patch; !strings.Contains(p, "\n+four\n") || !strings.Contains(p, "--- a/a.txt\n+++ b/a.txt\n") {
		t.Errorf("a.txt patch = %q, want +four", p)
	}
	for i := 1; i < len(d.Files); i++ {
		if d.Files[i-1].Path >= d.Files[i].Path {
			t.Errorf("files not sorted: %q before %q", d.Files[i-1].Path, d.Files[i].Path)
		}
	}
	if d.Additions != 5 || d.Deletions != 1 {
		t.Errorf("totals +%d -%d, want +5 -1", d.Additions, d.Deletions)
	}

	t.Run("no patches", func(t *testing.T) {
		d, err := info.Diff(context.Background(), DiffOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range d.Files {
			if c.Patch != "" {
				t.Errorf("%q has a patch without Patches", c.Path)
			}
		}
	})

	t.Run("truncated", func(t *testing.T) {
		d, err := info.Diff(context.Background(), DiffOptions{Patches: true, MaxPatchBytes: 100})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Truncated || len(d.Files) != len(want) {
			t.Errorf("Truncated = %v with %d files, want true with every file (%d)", d.Truncated, len(d.Files), len(want))
		}
		total := 0
		for _, c := range d.Files {
			total += len(c.Patch)
		}
		if total > 100 {
			t.Errorf("patches hold %d bytes, more than MaxPatchBytes 100", total)
		}
	})
}

func TestDiffRename(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	if err := os.Rename(filepath.Join(info.Dir, "dir", "c.txt"), filepath.Join(info.Dir, "moved.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(info.Dir, "b.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := info.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatal(err)
	}
	files := filesByPath(d)
	if c := files["moved.txt"]; c.Status != StatusRenamed || c.OldPath != "dir/c.txt" {
		t.Errorf("moved.txt = %+v, want renamed from dir/c.txt", c)
	}
	if c := files["b.txt"]; c.Status != StatusModified || c.OldMode != "100644" || c.NewMode != "100755" {
		t.Errorf("b.txt = %+v, want modified 100644 -> 100755", c)
	}
	if d.Commits != 0 || !d.Uncommitted {
		t.Errorf("commits %d uncommitted %v, want 0 true", d.Commits, d.Uncommitted)
	}
}

func TestSummarize(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	s, err := info.Summarize(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 0 || s.Unlanded {
		t.Errorf("fresh workspace: %+v, want no files, not unlanded", s)
	}
	writeFile(t, filepath.Join(info.Dir, "new.txt"), "x\n")
	s, err = info.Summarize(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 1 || !s.Unlanded {
		t.Errorf("after a change: %+v, want 1 file, unlanded", s)
	}
	info.Landed = &Mark{Tree: s.Tree}
	if s, _ := info.Summarize(context.Background(), nil); s.Unlanded {
		t.Errorf("after landing that tree: %+v, want not unlanded", s)
	}
	info.Landed, info.Applied = nil, &Mark{Tree: s.Tree}
	if s, _ := info.Summarize(context.Background(), nil); s.Unlanded {
		t.Errorf("after applying that tree: %+v, want not unlanded", s)
	}
}

func TestSummarizeOtherRefs(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	// What the agent did: work on another branch, and in the stash, then
	// back to its own branch with a clean tree.
	agentGit(t, info, "checkout", "-q", "-b", "feature")
	writeFile(t, filepath.Join(info.Dir, "feature.txt"), "on a branch\n")
	agentGit(t, info, "add", "-A")
	agentGit(t, info, "commit", "-q", "-m", "feature")
	feature := strings.TrimSpace(agentGit(t, info, "rev-parse", "HEAD"))
	writeFile(t, filepath.Join(info.Dir, "stashed.txt"), "stashed\n")
	agentGit(t, info, "stash", "-q", "-u")
	agentGit(t, info, "checkout", "-q", "clauderon/x")
	// Branches that hold nothing land would miss.
	agentGit(t, info, "branch", "at-baseline")
	agentGit(t, info, "branch", "user-main", strings.TrimSpace(userGit(t, repo, "rev-parse", "HEAD")))

	s, err := info.Summarize(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 0 || !s.Unlanded || strings.Join(s.OtherRefs, ",") != "refs/heads/feature,refs/stash" {
		t.Errorf("Summarize = %+v, want no files, unlanded, other refs feature and the stash", s)
	}

	t.Run("packed", func(t *testing.T) {
		agentGit(t, info, "pack-refs", "--all")
		if exists(filepath.Join(info.Dir, ".git", "refs", "heads", "feature")) {
			t.Fatal("pack-refs left the loose ref")
		}
		s, err := info.Summarize(context.Background(), nil)
		if err != nil || strings.Join(s.OtherRefs, ",") != "refs/heads/feature,refs/stash" {
			t.Errorf("Summarize with packed refs = %+v, %v; want feature and the stash", s, err)
		}
	})

	t.Run("landed", func(t *testing.T) {
		agentGit(t, info, "stash", "drop", "-q")
		info := info
		info.Landed = &Mark{Commit: feature}
		s, err := info.Summarize(context.Background(), nil)
		if err != nil || s.Unlanded || len(s.OtherRefs) != 0 {
			t.Errorf("Summarize with feature landed and no stash = %+v, %v; want nothing unlanded", s, err)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(readFile(t, filepath.Join(info.Dir, ".git", "packed-refs")))
		long := "refs/heads/" + strings.Repeat("\x1b[31m", 100)
		fmt.Fprintf(&b, "%040x %s\n", 1, long)
		for i := range maxOtherRefs + 500 {
			fmt.Fprintf(&b, "%040x refs/heads/b%05d\n", i+2, i)
			fmt.Fprintf(&b, "^%040x\n", i+2)
		}
		writeFile(t, filepath.Join(info.Dir, ".git", "packed-refs"), b.String())
		s, err := info.Summarize(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.OtherRefs) != maxOtherRefs || !s.Unlanded {
			t.Errorf("%d other refs listed, want %d", len(s.OtherRefs), maxOtherRefs)
		}
		for _, r := range s.OtherRefs {
			if len(r) > maxRefName {
				t.Errorf("a name of %d bytes listed, more than %d", len(r), maxRefName)
			}
		}
		if want := truncate(long, maxRefName-3); len(s.OtherRefs) == 0 || s.OtherRefs[0] != want {
			t.Errorf("listed %q, want first the long name cut to %q", s.OtherRefs[:min(len(s.OtherRefs), 1)], want)
		}
	})
}

// TestPatchQuotesNames: a file name cannot forge lines of the patch text.
func TestPatchQuotesNames(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	evil := "install.sh\n README.md    |    1 +\n 2 files changed\n+++ b-README.md"
	writeFile(t, filepath.Join(info.Dir, evil), "rm -rf ~\n")
	if err := os.Rename(filepath.Join(info.Dir, "b.txt"), filepath.Join(info.Dir, "b\"\\\x7f\xff\u009b.txt")); err != nil {
		t.Fatal(err)
	}
	d, err := info.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatal(err)
	}
	files := filesByPath(d)
	c, ok := files[evil]
	if !ok {
		t.Fatalf("the file is not listed by its raw name: %+v", d.Files)
	}
	q := `install.sh\n README.md    |    1 +\n 2 files changed\n+++ b-README.md`
	header, _, _ := strings.Cut(c.Patch, "@@")
	lines := strings.Split(strings.TrimSuffix(header, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("the patch header has %d lines, want 5:\n%s", len(lines), header)
	}
	for i, w := range []string{`diff --git "a/` + q + `" "b/` + q + `"`, "new file mode 100644", "", "--- /dev/null", `+++ "b/` + q + `"`} {
		if w != "" && lines[i] != w {
			t.Errorf("header line %d = %q, want %q", i, lines[i], w)
		}
	}
	if !strings.HasPrefix(lines[2], "index 0000000000000000000000000000000000000000..") {
		t.Errorf("header line 2 = %q, want the index line", lines[2])
	}
	for _, c := range d.Files {
		if c.Status == StatusRenamed {
			wantFrom := `rename from b.txt`
			wantTo := `rename to "b\"\\\177\377\302\233.txt"`
			if !strings.Contains(c.Patch, wantFrom+"\n"+wantTo+"\n") {
				t.Errorf("rename patch = %q, want %q and %q", c.Patch, wantFrom, wantTo)
			}
		}
	}
	if got := quotePath("a/", "é ü.txt"); got != "a/é ü.txt" {
		t.Errorf("quotePath of a UTF-8 name = %q, want it as it is", got)
	}
}
