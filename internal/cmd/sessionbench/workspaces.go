package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/workspace"
)

// wsKnobs size the workspace benchmark.
type wsKnobs struct {
	files     int // files in the large repository's working tree
	historyMB int // MiB of random bytes (base64'd) its history holds, so at least that much pack
	rounds    int // rounds of each large-repository measurement
	edits     int // files changed for the diff and land rows
}

// largeRepo is the generated repository the workspace rows copy.
type largeRepo struct {
	dir      string
	files    []string // its working tree's files, in order
	commits  int
	gitBytes int64
}

// editLine is what every edit of the diff and land rows appends.
const editLine = "sessionbench edit\n"

// workspaces measures `clauderon create --workdir` of a large repository
// against a one-file one and against git's own ways to get a second
// checkout, then diff and land of a 1,000-file change, and prints a table.
func (b *bench) workspaces(ctx context.Context) error {
	k := b.ws
	loadStart := loadAvg()
	large, err := b.makeLargeRepo(filepath.Join(b.tmp, "large"), k.files, k.historyMB)
	if err != nil {
		return fmt.Errorf("generating the large repository: %w", err)
	}
	one, err := makeOneFileRepo(filepath.Join(b.tmp, "one"))
	if err != nil {
		return fmt.Errorf("generating the one-file repository: %w", err)
	}

	// Each measurement runs alone; the order reverses every other round.
	var createL, createO, clone, wt, wtPar []time.Duration
	for i := range k.rounds {
		logf("workspace round %d/%d", i+1, k.rounds)
		steps := []func() error{
			func() error {
				d, err := b.timeCreate(fmt.Sprintf("wsbench-large-%d", i), large.dir)
				createL = append(createL, d)
				return err
			},
			func() error {
				d, err := b.timeCreate(fmt.Sprintf("wsbench-one-%d", i), one)
				createO = append(createO, d)
				return err
			},
			func() error {
				dst := filepath.Join(b.tmp, fmt.Sprintf("clone-%d", i))
				d, err := b.timeCmd("git", "clone", "-q", "--local", large.dir, dst)
				clone = append(clone, d)
				return errors.Join(err, os.RemoveAll(dst))
			},
			func() error {
				d, err := b.timeWorktree(large.dir, fmt.Sprintf("bench-%d", i))
				wt = append(wt, d)
				return err
			},
			func() error {
				// Parallel checkout (one worker per CPU), which git does
				// not do by default.
				d, err := b.timeWorktree(large.dir, fmt.Sprintf("bench-par-%d", i), "-c", "checkout.workers=0")
				wtPar = append(wtPar, d)
				return err
			},
		}
		if err := runSteps(i, steps); err != nil {
			return err
		}
	}
	logSamples("create, large repo", createL)
	logSamples("create, one-file repo", createO)
	logSamples("git clone --local", clone)
	logSamples("git worktree add", wt)
	logSamples("git worktree add, parallel checkout", wtPar)
	logf("one more large create, for its breakdown")
	breakdown, err := b.createBreakdown(ctx, "wsbench-breakdown", large.dir)
	if err != nil {
		return err
	}
	dl, err := b.diffLand(large, k.rounds, k.edits)
	if err != nil {
		return err
	}

	fmt.Printf("\nLarge repository: %d files in %d directories, %d commits, .git %s (packed); one-file repository: 1 file.\n",
		len(large.files), countDirs(large.files), large.commits, mib(large.gitBytes))
	// Copies of 20,000 files are bound by the disk and the CPU: say how busy
	// the machine was.
	fmt.Printf("%d CPUs; load average %s at the start of these rows, %s at the end.\n", runtime.NumCPU(), loadStart, loadAvg())
	fmt.Printf("\n| workspace measurement (median of %d) | clauderon | baseline | ratio | goal |\n|---|---|---|---|---|\n", k.rounds)
	fmt.Printf("| create → running: large repo vs one-file repo | %.0f ms | %.0f ms | %.2fx | ≤ 1.3x |\n", median(createL), median(createO), median(createL)/median(createO))
	fmt.Printf("| create → running: large repo vs `git worktree add` of it | %.0f ms | %.0f ms | %.2fx | < 1.0x |\n", median(createL), median(wt), median(createL)/median(wt))
	fmt.Printf("| create → running: large repo vs `git -c checkout.workers=0 worktree add` (parallel checkout, reference) | %.0f ms | %.0f ms | %.2fx | |\n", median(createL), median(wtPar), median(createL)/median(wtPar))
	fmt.Printf("| create → running: large repo vs `git clone --local` of it (reference) | %.0f ms | %.0f ms | %.2fx | |\n", median(createL), median(clone), median(createL)/median(clone))
	fmt.Printf("| `diff --stat`, %d files changed (half committed) vs `git diff --stat` in a worktree | %.0f ms | %.0f ms | %.2fx | |\n", k.edits, median(dl.stat), median(dl.gitStat), median(dl.stat)/median(dl.gitStat))
	fmt.Printf("| `diff` (full, output discarded) vs `git diff` in a worktree | %.0f ms | %.0f ms | %.2fx | |\n", median(dl.full), median(dl.gitFull), median(dl.full)/median(dl.gitFull))
	fmt.Printf("| `land --branch … --force` of that work | %.0f ms | | | |\n", median(dl.land))
	fmt.Printf("\nOne large create, step by step (the daemon's progress lines, each timed to the next):\n\n")
	for _, s := range breakdown {
		fmt.Printf("- %6.0f ms  %s\n", float64(s.took)/float64(time.Millisecond), s.line)
	}
	return nil
}

// runSteps runs one round's measurements, each alone, in reverse order
// every other round. Before each, the writes of the one before go to disk:
// writing back 20,000 files would otherwise land in the next measurement.
func runSteps(round int, steps []func() error) error {
	if round%2 == 1 {
		slices.Reverse(steps)
	}
	for _, f := range steps {
		syscall.Sync()
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func logSamples(what string, d []time.Duration) {
	s := make([]string, len(d))
	for i, x := range d {
		s[i] = x.Round(time.Millisecond).String()
	}
	logf("  %s: %s", what, strings.Join(s, " "))
}

// timeCreate times `clauderon create --workdir dir` to running, then
// removes the session and its workspace.
func (b *bench) timeCreate(name, dir string) (time.Duration, error) {
	d, err := b.timeCmd(b.bin, "create", "--name", name, "--prompt", "hello", "--image", b.image, "--workdir", dir)
	if err != nil {
		return 0, err
	}
	return d, b.quiet(b.bin, "rm", "--force", "--discard", name)
}

// timeWorktree times `git worktree add` of repo on a new branch, then
// removes the worktree and the branch.
func (b *bench) timeWorktree(repo, branch string, config ...string) (time.Duration, error) {
	dst := filepath.Join(b.tmp, "worktree-"+branch)
	args := append(append([]string{"-C", repo}, config...), "worktree", "add", "-q", dst, "-b", branch)
	d, err := b.timeCmd("git", args...)
	if err != nil {
		return 0, err
	}
	return d, errors.Join(b.quiet("git", "-C", repo, "worktree", "remove", "--force", dst),
		b.quiet("git", "-C", repo, "branch", "-q", "-D", branch))
}

// step is one progress line of a create and the time until the next.
type step struct {
	line string
	took time.Duration
}

// createBreakdown creates a session through the progress stream, the one
// the CLI shows on a terminal, and times each line to the next.
func (b *bench) createBreakdown(ctx context.Context, name, dir string) ([]step, error) {
	var steps []step
	last := time.Now()
	line := "(request sent)"
	_, err := b.cl.CreateWithProgress(ctx, session.Options{Name: name, Prompt: "hello", Image: b.image, Workdir: dir}, func(l string) {
		now := time.Now()
		steps = append(steps, step{line, now.Sub(last)})
		line, last = l, now
	})
	steps = append(steps, step{line, time.Since(last)})
	if err != nil {
		return nil, fmt.Errorf("create %s with progress: %w", name, err)
	}
	return steps, b.quiet(b.bin, "rm", "--force", "--discard", name)
}

// diffLandTimes are the diff and land rows.
type diffLandTimes struct {
	stat, full, land, gitStat, gitFull []time.Duration
}

// diffLand makes a session on the large repository, changes edits files in
// its container as the agent would (half of them committed), and times
// diff --stat, diff and land against git diff of the same change in a
// plain worktree.
func (b *bench) diffLand(large *largeRepo, rounds, edits int) (t diffLandTimes, err error) {
	if edits > len(large.files) {
		return t, fmt.Errorf("-edits %d is more than the %d files of the large repository", edits, len(large.files))
	}
	const name = "wsbench-edit"
	logf("diff and land: session %s, %d files changed in its container", name, edits)
	if _, err := b.timeCmd(b.bin, "create", "--name", name, "--prompt", "hello", "--image", b.image, "--workdir", large.dir); err != nil {
		return t, err
	}
	defer func() { err = errors.Join(err, b.quiet(b.bin, "rm", "--force", "--discard", name)) }()

	changed := make([]string, edits)
	for i := range changed {
		changed[i] = large.files[i*len(large.files)/edits]
	}
	list := strings.Join(changed, "\n") + "\n"
	half := edits / 2
	script := `set -e; cat > /tmp/sessionbench-edits
while IFS= read -r f; do printf '` + strings.TrimSuffix(editLine, "\n") + `\n' >> "$f"; done < /tmp/sessionbench-edits
head -n ` + fmt.Sprint(half) + ` /tmp/sessionbench-edits | git add --pathspec-from-file=-
git -c user.name=a -c user.email=a@b commit -q -m 'sessionbench: half the edits'`
	edit := exec.Command("docker", "exec", "-i", "-w", session.ContainerWorkdir, session.ContainerName(name), "sh", "-c", script)
	edit.Stdin = strings.NewReader(list)
	if out, err := edit.CombinedOutput(); err != nil {
		return t, fmt.Errorf("editing files in the container: %v: %s", err, out)
	}
	tree, err := b.checkDiff(name, edits)
	if err != nil {
		return t, err
	}

	// The same change in a plain worktree of the user's repository.
	ref := filepath.Join(b.tmp, "worktree-edit")
	if err := b.quiet("git", "-C", large.dir, "worktree", "add", "-q", "--detach", ref); err != nil {
		return t, err
	}
	defer func() { err = errors.Join(err, b.quiet("git", "-C", large.dir, "worktree", "remove", "--force", ref)) }()
	for _, f := range changed {
		if err := appendTo(filepath.Join(ref, f), editLine); err != nil {
			return t, err
		}
	}
	add := exec.Command("git", "-C", ref, "add", "--pathspec-from-file=-")
	add.Stdin = strings.NewReader(strings.Join(changed[:half], "\n") + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return t, fmt.Errorf("git add in %s: %v: %s", ref, err, out)
	}
	if err := b.quiet("git", "-C", ref, "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "sessionbench: half the edits"); err != nil {
		return t, err
	}

	var branches []string
	defer func() {
		if len(branches) > 0 {
			err = errors.Join(err, b.quiet("git", append([]string{"-C", large.dir, "branch", "-q", "-D"}, branches...)...))
		}
	}()
	for i := range rounds {
		logf("diff and land round %d/%d", i+1, rounds)
		steps := []func() error{
			func() error {
				d, err := b.timeDiscard(b.bin, "diff", name, "--stat")
				t.stat = append(t.stat, d)
				return err
			},
			func() error {
				d, err := b.timeDiscard(b.bin, "diff", name)
				t.full = append(t.full, d)
				return err
			},
			func() error {
				br := fmt.Sprintf("bench-land-%d", i)
				d, err := b.timeDiscard(b.bin, "land", name, "--branch", br, "--force", "--tree", tree)
				if err == nil {
					branches = append(branches, br)
				}
				t.land = append(t.land, d)
				return err
			},
			func() error {
				d, err := b.timeDiscard("git", "-C", ref, "diff", "--stat", "HEAD~1")
				t.gitStat = append(t.gitStat, d)
				return err
			},
			func() error {
				d, err := b.timeDiscard("git", "-C", ref, "diff", "HEAD~1")
				t.gitFull = append(t.gitFull, d)
				return err
			},
		}
		if err := runSteps(i, steps); err != nil {
			return t, err
		}
	}
	logSamples("diff --stat", t.stat)
	logSamples("diff", t.full)
	logSamples("land", t.land)
	logSamples("git diff --stat", t.gitStat)
	logSamples("git diff", t.gitFull)
	return t, nil
}

// checkDiff makes sure the rows measure the change they claim to, and
// returns the work's tree (a running session lands the tree reviewed).
func (b *bench) checkDiff(name string, edits int) (string, error) {
	cmd := exec.Command(b.bin, "diff", name, "--stat", "--json")
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("clauderon diff %s --stat --json: %w", name, err)
	}
	var d workspace.Diff
	if err := json.Unmarshal(out, &d); err != nil {
		return "", fmt.Errorf("clauderon diff %s --stat --json: %w", name, err)
	}
	if len(d.Files) != edits || d.Additions != edits || d.Commits != 1 || !d.Uncommitted {
		return "", fmt.Errorf("clauderon diff %s: %d files, %d additions, %d commits, uncommitted %t; want %[6]d files and %[6]d additions in 1 commit and uncommitted work",
			name, len(d.Files), d.Additions, d.Commits, d.Uncommitted, edits)
	}
	return d.Tree, nil
}

// timeDiscard is timeCmd for commands whose output is large: it is dropped
// (stderr is kept for the error).
func (b *bench) timeDiscard(name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return d, nil
}

// makeLargeRepo writes a repository whose working tree is files small text
// files and whose history holds historyMB MiB of random bytes, base64'd,
// added and later deleted under data/: a big .git behind an ordinary tree.
// git fast-import writes it in one go; a repack packs it as a real one.
func (b *bench) makeLargeRepo(dir string, files, historyMB int) (*largeRepo, error) {
	t0 := time.Now()
	logf("large repository: %d files, %d MiB of history, in %s", files, historyMB, dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	if err := git(dir, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	r := &largeRepo{dir: dir}
	// Fast compression: the data is random, so the pack is as big either way.
	imp := exec.Command("git", "-C", dir, "-c", "pack.compression=1", "fast-import", "--quiet", "--done")
	in, err := imp.StdinPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	imp.Stdout, imp.Stderr = &stderr, &stderr
	if err := imp.Start(); err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	r.files, r.commits = writeHistory(w, files, historyMB)
	err = errors.Join(w.Flush(), in.Close()) // a failed write sticks to w
	if werr := imp.Wait(); werr != nil || err != nil {
		return nil, fmt.Errorf("git fast-import: %w: %s", errors.Join(err, werr), stderr.String())
	}
	logf("  fast-import %s; repacking", time.Since(t0).Round(time.Millisecond))
	if err := git(dir, "repack", "-a", "-d", "-q"); err != nil {
		return nil, err
	}
	if err := git(dir, "reset", "-q", "--hard"); err != nil {
		return nil, err
	}
	// A real checkout's index is older than its files; so is this one after
	// a status, which also proves the tree clean.
	out, err := exec.Command("git", "-C", dir, "status", "--porcelain").CombinedOutput()
	if err != nil || len(out) > 0 {
		return nil, fmt.Errorf("git status in %s: %v: %s", dir, err, out)
	}
	out, err = exec.Command("git", "-C", dir, "ls-files", "-z").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %w", dir, err)
	}
	if n := bytes.Count(out, []byte{0}); n != len(r.files) {
		return nil, fmt.Errorf("%s tracks %d files, want %d", dir, n, len(r.files))
	}
	if r.gitBytes, err = dirSize(filepath.Join(dir, ".git")); err != nil {
		return nil, err
	}
	if r.gitBytes < int64(historyMB)<<20 {
		return nil, fmt.Errorf("%s/.git is %s, less than the %d MiB of history asked for", dir, mib(r.gitBytes), historyMB)
	}
	logf("  %d files, %d commits, .git %s, in %s", len(r.files), r.commits, mib(r.gitBytes), time.Since(t0).Round(time.Millisecond))
	return r, nil
}

// The large repository's shape: files per directory, the random bytes of
// one data/ blob, data/ blobs per commit, small files touched per commit.
const (
	filesPerDir    = 64
	dataBlobBytes  = 4 << 20
	blobsPerCommit = 5
	churnPerCommit = 200
)

// writeHistory writes the fast-import stream of the large repository and
// returns its working tree's files and its number of commits. It is seeded,
// so every run measures the same repository.
func writeHistory(w *bufio.Writer, files, historyMB int) ([]string, int) {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := make([]string, files)
	contents := make([][]byte, files)
	for i := range paths {
		d := i / filesPerDir
		paths[i] = fmt.Sprintf("src/g%02d/d%03d/f%02d.txt", d/20, d, i%filesPerDir)
		contents[i] = textFile(rng, paths[i], 1024+rng.IntN(1024))
	}
	when := int64(1_700_000_000)
	commits := 0
	commit := func(msg string, body func()) {
		when += 3600
		commits++
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", when, len(msg), msg)
		body()
		w.WriteString("\n")
	}
	inline := func(path string, data []byte) {
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n", path, len(data))
		w.Write(data)
		w.WriteString("\n")
	}
	churn := func(c int) {
		for range churnPerCommit {
			i := rng.IntN(files)
			contents[i] = fmt.Appendf(contents[i], "change %d of %s\n", c, paths[i])
			inline(paths[i], contents[i])
		}
	}

	commit("initial import", func() {
		for i, p := range paths {
			inline(p, contents[i])
		}
	})
	chacha := rand.NewChaCha8([32]byte{1})
	raw := make([]byte, dataBlobBytes)
	blobs := (historyMB<<20 + dataBlobBytes - 1) / dataBlobBytes
	for c := 0; blobs > 0; c++ {
		commit(fmt.Sprintf("data set %d", c), func() {
			w.WriteString("D data\n")
			for j := 0; j < blobsPerCommit && blobs > 0; j, blobs = j+1, blobs-1 {
				_, _ = chacha.Read(raw)
				inline(fmt.Sprintf("data/set%02d-%d.b64", c, j), wrapBase64(raw))
			}
			churn(c)
		})
	}
	commit("drop the data sets", func() {
		w.WriteString("D data\n")
		churn(-1)
	})
	w.WriteString("done\n")
	return paths, commits
}

var words = strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega " +
	"func return struct interface package import const var type map chan select defer go range break continue")

// textFile is a source-like text file of about n bytes.
func textFile(rng *rand.Rand, path string, n int) []byte {
	buf := fmt.Appendf(nil, "// %s\n", path)
	for len(buf) < n {
		line := len(buf)
		for len(buf)-line < 60 {
			buf = append(buf, words[rng.IntN(len(words))]...)
			buf = append(buf, ' ')
		}
		buf[len(buf)-1] = '\n'
	}
	return buf
}

// wrapBase64 is raw in base64, in 76-character lines as base64(1) writes it.
func wrapBase64(raw []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(raw)
	out := make([]byte, 0, len(enc)+len(enc)/76+1)
	for len(enc) > 76 {
		out = append(append(out, enc[:76]...), '\n')
		enc = enc[76:]
	}
	return append(append(out, enc...), '\n')
}

// makeOneFileRepo is a repository with one committed file.
func makeOneFileRepo(dir string) (string, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# one file\n"), 0o644); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "README.md"},
		{"-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "one file"},
	} {
		if err := git(dir, args...); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// git runs git in dir.
func git(dir string, args ...string) error {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func appendTo(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

func countDirs(files []string) int {
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	return len(dirs)
}

// loadAvg is the one-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// median is in milliseconds.
func median(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
