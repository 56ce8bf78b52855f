package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAuditSurvivesKill kills a process writing audit lines as fast as it
// can (rotating too) at an arbitrary moment, several times. Its lines are
// 16 KiB, so a write spans pages and a kill can cut one short (a write stops
// between pages); every other line must stay whole, and so must the line
// the next writer adds after the cut one.
func TestAuditSurvivesKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFile)
	const rounds = 20
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAuditKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CLAUDERON_AUDIT_CHILD="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child says when it has written a while (and rotated, from
		// the second round on); it is killed at whatever point of a line
		// it has reached by then.
		progress, said := bufio.NewScanner(out), ""
		for said != "writing" && progress.Scan() {
			said = progress.Text()
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if said != "writing" {
			t.Fatalf("round %d: the writer stopped before writing (last said %q)", round, said)
		}
		// The next writer (the daemon restarted) appends after it.
		a, err := OpenAudit(path, killTestMaxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Record(entry(round)); err != nil {
			t.Fatal(err)
		}
		a.Close()
		lines := rawLines(t, path)
		var last AuditEntry
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Path != entry(round).Path {
			t.Fatalf("round %d: the line written after the kill is not whole (%v)", round, err)
		}
	}
	bad, rotated := 0, false
	for i, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		rotated = rotated || i > 0
		for _, l := range rawLines(t, p) {
			if l != "" && !json.Valid([]byte(l)) {
				bad++
			}
		}
	}
	if bad > rounds {
		t.Errorf("%d lines are not JSON after %d kills", bad, rounds)
	}
	if !rotated {
		t.Error("the log never rotated, so no kill could land in a rotation")
	}
}

const killTestMaxBytes = 256 << 10

// TestAuditKillChild is the writer TestAuditSurvivesKill kills. It says
// "writing" once it has written five lines (80 KiB), and gives up after a
// minute should nobody kill it.
func TestAuditKillChild(t *testing.T) {
	path := os.Getenv("CLAUDERON_AUDIT_CHILD")
	if path == "" {
		t.Skip("run by TestAuditSurvivesKill")
	}
	a, err := OpenAudit(path, killTestMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", maxAuditError) // the most a line may carry there
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		e := entry(i)
		e.Error = pad
		if err := a.Record(e); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			fmt.Println("writing")
		}
	}
}

// TestAuditTornTail: a line left without its newline, by a process that died
// before this Audit opened the file or while it had it open, stays a line
// of its own; the lines after it are whole, and a clean file gets no blank
// line.
func TestAuditTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), AuditFile)
	whole, _ := json.Marshal(entry(0))
	torn := string(whole[:len(whole)/2])
	if err := os.WriteFile(path, []byte(string(whole)+"\n"+torn), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := OpenAudit(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	record := func(i int) {
		if err := a.Record(entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	record(1)
	record(2)
	// Another writer dies mid-line while this one has the file open.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(torn); err != nil {
		t.Fatal(err)
	}
	f.Close()
	record(3)
	want := []string{string(whole), torn, "/1", "/2", torn, "/3"}
	got := rawLines(t, path)
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if strings.HasPrefix(w, "/") {
			var e AuditEntry
			if err := json.Unmarshal([]byte(got[i]), &e); err != nil || e.Path != w {
				t.Errorf("line %d = %q, want the entry for %s", i+1, got[i], w)
			}
		} else if got[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, got[i], w)
		}
	}
}

// rawLines is the file's lines, empty ones included (but not the empty
// string after a final newline).
func rawLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
