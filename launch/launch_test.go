package launch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTerminalAttach starts a real process: $TERMINAL is a stub script
// that records its arguments, as the tray test asks.
func TestTerminalAttach(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "argv")
	stub := filepath.Join(dir, "term")
	// The stub writes one argument a line, then renames the file into
	// place, so the test never reads it half written.
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + record + ".tmp && mv " + record + ".tmp " + record + "\n"
	if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TERMINAL", stub)
	argv := AttachCommand("fix-bug")
	if err := InTerminal(argv); err != nil {
		t.Fatalf("InTerminal: %v", err)
	}
	got := waitFile(t, record)
	exe, _ := os.Executable()
	want := []string{"-e", exe, "attach", "fix-bug"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the terminal ran with %q, want %q", got, want)
	}
}

func waitFile(t *testing.T, path string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal stub never ran: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAttachCommand(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := AttachCommand("a-1"), []string{exe, "attach", "a-1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("AttachCommand = %q, want %q", got, want)
	}
}

// fake is a system with the programs in have, recording what started.
type fake struct {
	have    map[string]bool
	fail    map[string]bool
	started [][]string
	env     map[string]string
}

func (f *fake) launcher(goos string) Launcher {
	return Launcher{
		GOOS:   goos,
		Getenv: func(k string) string { return f.env[k] },
		LookPath: func(p string) (string, error) {
			if f.have[p] {
				return "/bin/" + p, nil
			}
			return "", exec.ErrNotFound
		},
		Start: func(cmd *exec.Cmd) error {
			f.started = append(f.started, append([]string{filepath.Base(cmd.Path)}, cmd.Args[1:]...))
			if f.fail[filepath.Base(cmd.Path)] {
				return errors.New("exec format error")
			}
			return nil
		},
	}
}

func TestCandidates(t *testing.T) {
	argv := []string{"/opt/my clauderon", "attach", "s1"}
	tests := []struct {
		name string
		goos string
		env  map[string]string
		have []string
		fail []string
		want [][]string // every start tried, the last one succeeding
	}{
		{"terminal env first", "linux", map[string]string{"TERMINAL": "alacritty"}, []string{"alacritty", "xterm"}, nil,
			[][]string{{"alacritty", "-e", "/opt/my clauderon", "attach", "s1"}}},
		{"terminal env with words", "linux", map[string]string{"TERMINAL": "wezterm start"}, []string{"wezterm"}, nil,
			[][]string{{"wezterm", "start", "-e", "/opt/my clauderon", "attach", "s1"}}},
		{"debian alternative", "linux", nil, []string{"x-terminal-emulator", "xterm"}, nil,
			[][]string{{"x-terminal-emulator", "-e", "/opt/my clauderon", "attach", "s1"}}},
		{"gnome takes --", "linux", nil, []string{"gnome-terminal", "konsole"}, nil,
			[][]string{{"gnome-terminal", "--", "/opt/my clauderon", "attach", "s1"}}},
		{"konsole", "freebsd", nil, []string{"konsole", "xterm"}, nil,
			[][]string{{"konsole", "-e", "/opt/my clauderon", "attach", "s1"}}},
		{"a failed start falls through", "linux", map[string]string{"TERMINAL": "broken"}, []string{"broken", "xterm"}, []string{"broken"},
			[][]string{{"broken", "-e", "/opt/my clauderon", "attach", "s1"}, {"xterm", "-e", "/opt/my clauderon", "attach", "s1"}}},
		{"windows terminal", "windows", nil, []string{"wt.exe"}, nil,
			[][]string{{"wt.exe", "new-tab", "--title", "clauderon", "/opt/my clauderon", "attach", "s1"}}},
		{"windows console", "windows", nil, []string{"/opt/my clauderon"}, nil,
			[][]string{{"my clauderon", "attach", "s1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{have: map[string]bool{}, fail: map[string]bool{}, env: tt.env}
			for _, h := range tt.have {
				f.have[h] = true
			}
			for _, h := range tt.fail {
				f.fail[h] = true
			}
			if err := f.launcher(tt.goos).InTerminal(argv); err != nil {
				t.Fatalf("InTerminal: %v", err)
			}
			if !reflect.DeepEqual(f.started, tt.want) {
				t.Fatalf("started %q, want %q", f.started, tt.want)
			}
		})
	}
}

func TestNoTerminal(t *testing.T) {
	f := &fake{have: map[string]bool{}}
	err := f.launcher("linux").InTerminal([]string{"/opt/my clauderon", "attach", "s1"})
	if !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("err = %v, want ErrNoTerminal", err)
	}
	if want := `'/opt/my clauderon' attach s1`; !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("err = %q, want it to end with the command to copy %q", err, want)
	}
}

func TestMacTerminal(t *testing.T) {
	dir := t.TempDir()
	f := &fake{have: map[string]bool{"open": true}}
	l := f.launcher("darwin")
	l.TempDir = func() (string, error) { return dir, nil }
	if err := l.InTerminal([]string{"/Applications/My App/clauderon", "attach", "s1"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "clauderon-attach.command")
	if want := [][]string{{"open", "-a", "Terminal", file}}; !reflect.DeepEqual(f.started, want) {
		t.Fatalf("started %q, want %q", f.started, want)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "exec '/Applications/My App/clauderon' attach s1\n"; !strings.HasSuffix(string(b), want) {
		t.Fatalf("the .command file is %q, want it to end with %q", b, want)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/bin/clauderon", "attach", "a-1"}, "/usr/bin/clauderon attach a-1"},
		{[]string{"/x y/c", "it's", ""}, `'/x y/c' 'it'\''s' ''`},
		{[]string{"$(rm -rf ~)", "a;b"}, `'$(rm -rf ~)' 'a;b'`},
	}
	for _, tt := range tests {
		if got := CommandLine(tt.argv); got != tt.want {
			t.Errorf("CommandLine(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}
