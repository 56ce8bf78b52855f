package desktop_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/desktop/desktoptest"
)

// TestCLIBuildHasNoDesktop: plain `CGO_ENABLED=0 go build .` works without
// GTK or WebKit, links nothing of Wails, and its binary runs every CLI
// command's help (the desktop build's hook must not take them over).
func TestCLIBuildHasNoDesktop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "clauderon")
	if err := desktoptest.Build("..", bin, ""); err != nil {
		t.Fatal(err)
	}
	mods, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v %s", err, mods)
	}
	for _, m := range []string{"wailsapp", "webkit", "CGO_ENABLED=1"} {
		if strings.Contains(string(mods), m) {
			t.Errorf("the CLI build links %s:\n%s", m, mods)
		}
	}
	if !strings.Contains(string(mods), "CGO_ENABLED=0") {
		t.Errorf("the CLI build is not CGO_ENABLED=0:\n%s", mods)
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+t.TempDir(), "DISPLAY=", "WAYLAND_DISPLAY=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("clauderon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("version"); !strings.HasPrefix(out, "clauderon ") {
		t.Errorf("clauderon version printed %q", out)
	}
	help := run("--help")
	var cmds []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Available Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			cmds = append(cmds, strings.Fields(line)[0])
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("clauderon --help lists %d commands: %v\n%s", len(cmds), cmds, help)
	}
	for _, c := range cmds {
		if out := run(c, "--help"); !strings.Contains(out, "Usage:") {
			t.Errorf("clauderon %s --help printed no usage:\n%s", c, out)
		}
	}
	t.Logf("%d commands answer --help: %s", len(cmds), strings.Join(cmds, " "))
}
