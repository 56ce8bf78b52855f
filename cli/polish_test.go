package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

// fakeDaemon serves h as the LocalAPI of a fresh CLAUDERON_HOME, which the
// test's environment then names, and returns that home.
func fakeDaemon(t *testing.T, h http.Handler) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("CLAUDERON_HOME", home)
	l, err := net.Listen("unix", filepath.Join(home, client.SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return home
}

// noDaemon makes CLAUDERON_HOME a home where no daemon runs.
func noDaemon(t *testing.T) {
	t.Setenv("CLAUDERON_HOME", t.TempDir())
}

func answer(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

// runCLI runs the command line as Main does and returns its output.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

func intp(n int) *int { return &n }

// testSessions are a list's worth of sessions in every colour.
var testSessions = api.SessionList{Sessions: []session.Session{
	{Name: "alpha", Status: session.StatusRunning, Mode: session.ModeInteractive, Image: "img", Prompt: "hello"},
	{Name: "beta-long-name", Status: session.StatusExited, ExitCode: intp(1), Mode: session.ModePrint, Image: "img", Prompt: "x"},
	{Name: "gamma", Status: session.StatusExited, ExitCode: intp(0), Mode: session.ModePrint, Image: "image:tag"},
	{Name: "delta", Status: session.StatusFailed, Reason: "no image", Mode: session.ModePrint, Image: "img"},
}}

func sessionsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v0/sessions", answer(testSessions))
	return mux
}

// TestBuildVersion: the link-time version wins, then a tagged module's,
// else "dev"; the commit and whether the tree was modified come from the
// VCS settings, the Go version from the build info.
func TestBuildVersion(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}
	tests := []struct {
		name string
		set  string
		bi   *debug.BuildInfo
		want versionInfo
	}{
		{"ldflags", "v1.2.3", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.9.0"}, Settings: vcs},
			versionInfo{Version: "v1.2.3", Commit: "abc123", Modified: true, Go: "go1.99"}},
		{"module version", "", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v0.9.0"}},
			versionInfo{Version: "v0.9.0", Go: "go1.99"}},
		{"devel", "", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:1]},
			versionInfo{Version: "dev", Commit: "abc123", Go: "go1.99"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := buildVersion(tc.set, tc.bi)
			got.Platform = ""
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := buildVersion("", nil); got.Version != "dev" || got.Go == "" || got.Platform == "" {
		t.Errorf("without build info: %+v", got)
	}
	s := buildVersion("v1.2.3", &debug.BuildInfo{GoVersion: "go1.99", Settings: vcs}).String()
	for _, want := range []string{"clauderon v1.2.3", "abc123 (modified)", "go1.99"} {
		if !strings.Contains(s, want) {
			t.Errorf("version text %q lacks %q", s, want)
		}
	}
}

// TestVersionCommands: --version and version print the same version,
// commit and Go version; version --json holds them as JSON.
func TestVersionCommands(t *testing.T) {
	flag, _, code := runCLI(t, "--version")
	cmd, _, code2 := runCLI(t, "version")
	if code != 0 || code2 != 0 || flag != cmd {
		t.Fatalf("--version (exit %d) %q and version (exit %d) %q differ", code, flag, code2, cmd)
	}
	if !strings.HasPrefix(flag, "clauderon ") || !strings.Contains(flag, "\ncommit ") || !strings.Contains(flag, "go1.") {
		t.Errorf("--version printed %q, want the version, the commit and the Go version", flag)
	}
	out, _, code := runCLI(t, "version", "--json")
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || v.Version == "" || !strings.HasPrefix(v.Go, "go1.") || v.Platform == "" {
		t.Errorf("version --json: exit %d, %q (%v)", code, out, err)
	}
}

// TestUsageOnArgumentErrors: a missing or extra argument, or a bad flag,
// prints the error, the command's usage line and where to read more, and
// exits 2.
func TestUsageOnArgumentErrors(t *testing.T) {
	noDaemon(t)
	tests := []struct {
		args      []string
		wantUsage string
	}{
		{[]string{"attach"}, "usage: clauderon attach NAME"},
		{[]string{"logs", "a", "b"}, "usage: clauderon logs NAME"},
		{[]string{"rm"}, "usage: clauderon rm NAME..."},
		{[]string{"list", "extra"}, "usage: clauderon list"},
		{[]string{"list", "--bogus"}, "usage: clauderon list"},
		{[]string{"egress", "mode", "x"}, "usage: clauderon egress mode NAME open|balanced|locked"},
		{[]string{"completion", "tcsh"}, "usage: clauderon completion bash|zsh|fish"},
		{[]string{"no-such-command"}, "usage: clauderon COMMAND"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errOut, code := runCLI(t, tc.args...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if !strings.HasPrefix(lines[0], "clauderon: ") || !strings.Contains(errOut, tc.wantUsage) || !strings.Contains(errOut, "--help' for more") {
				t.Errorf("stderr %q, want the error, %q and the help hint", errOut, tc.wantUsage)
			}
		})
	}
	// A command that ran and failed is no usage error.
	if _, errOut, code := runCLI(t, "list"); code != 1 || strings.Contains(errOut, "usage:") {
		t.Errorf("list without a daemon: exit %d, %q; want 1 and no usage", code, errOut)
	}
}

// TestJSONErrors: under --json a failure is one JSON object on stderr,
// with the daemon's code when it gave one, stdout stays empty, and the
// exit code is non-zero; without --json it is text.
func TestJSONErrors(t *testing.T) {
	decode := func(t *testing.T, errOut string) jsonError {
		t.Helper()
		var e jsonError
		if err := json.Unmarshal([]byte(errOut), &e); err != nil || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("stderr %q is not one line of JSON: %v", errOut, err)
		}
		return e
	}
	t.Run("no daemon", func(t *testing.T) {
		noDaemon(t)
		out, errOut, code := runCLI(t, "list", "--json")
		e := decode(t, errOut)
		if code != 1 || out != "" || e.Code != codeUnreachable || !strings.Contains(e.Error, "clauderon daemon") {
			t.Errorf("exit %d, stdout %q, error %+v", code, out, e)
		}
		if _, errOut, _ := runCLI(t, "list"); strings.HasPrefix(errOut, "{") || !strings.HasPrefix(errOut, "clauderon: cannot reach") {
			t.Errorf("without --json: %q, want text", errOut)
		}
	})
	t.Run("usage", func(t *testing.T) {
		noDaemon(t)
		for _, args := range [][]string{{"diff", "--json"}, {"list", "--json", "--bogus"}, {"status", "--json", "x"}} {
			out, errOut, code := runCLI(t, args...)
			e := decode(t, errOut)
			if code != 2 || out != "" || e.Code != codeUsage || len(e.Usage) == 0 || !strings.HasPrefix(e.Usage[0], "clauderon "+args[0]) {
				t.Errorf("%v: exit %d, stdout %q, error %+v", args, code, out, e)
			}
		}
	})
	t.Run("daemon's code", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"no session named \"ghost\"\u001b]0;x\u0007","code":"not_found"}`))
		})
		fakeDaemon(t, mux)
		out, errOut, code := runCLI(t, "diff", "ghost", "--json")
		e := decode(t, errOut)
		if code != 1 || out != "" || e.Code != api.CodeNotFound || !strings.HasPrefix(e.Error, `no session named "ghost"`) {
			t.Errorf("exit %d, stdout %q, error %+v", code, out, e)
		}
		if strings.ContainsAny(errOut, "\x1b\x07") {
			t.Errorf("the JSON error carries raw control characters: %q", errOut)
		}
	})
}

// openPTY is a terminal for a test: what is written to tty is read back
// from the returned function once tty is closed.
func openPTY(t *testing.T) (tty *os.File, read func() string) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	done := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once tty is closed
		done <- b
	}()
	return tty, func() string {
		tty.Close()
		return strings.ReplaceAll(string(<-done), "\r\n", "\n")
	}
}

var escRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestColorOn: colour on a terminal, none on a pipe, with NO_COLOR or
// with TERM=dumb.
func TestColorOn(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	tty, _ := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !colorOn(tty) {
		t.Error("no colour on a terminal")
	}
	if colorOn(w) || colorOn(&bytes.Buffer{}) {
		t.Error("colour on a pipe or a buffer")
	}
	t.Setenv("NO_COLOR", "")
	if colorOn(tty) {
		t.Error("colour with NO_COLOR set (even empty)")
	}
	os.Unsetenv("NO_COLOR")
	t.Setenv("TERM", "dumb")
	if colorOn(tty) {
		t.Error("colour with TERM=dumb")
	}
}

// TestListColor: on a terminal list paints statuses (running green,
// exited non-zero and failed red) without moving a column; piped, or with
// NO_COLOR, it prints no escape at all.
func TestListColor(t *testing.T) {
	fakeDaemon(t, sessionsHandler())
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")

	var piped bytes.Buffer
	if err := runList(context.Background(), &piped, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(piped.String(), "\x1b") {
		t.Errorf("piped list has escapes: %q", piped.String())
	}

	tty, read := openPTY(t)
	if err := runList(context.Background(), tty, false); err != nil {
		t.Fatal(err)
	}
	painted := read()
	for _, want := range []string{paint(true, colorGreen, "running"), paint(true, colorRed, "exited (1)"), paint(true, colorRed, "failed: no image")} {
		if !strings.Contains(painted, want) {
			t.Errorf("list on a terminal lacks %q:\n%q", want, painted)
		}
	}
	if strings.Contains(painted, "\x1b[32mexited (0)") || strings.Contains(painted, "\x1b[31mexited (0)") {
		t.Errorf("exited (0) is painted as a success or a failure:\n%q", painted)
	}
	if got := escRE.ReplaceAllString(painted, ""); got != piped.String() {
		t.Errorf("colour moved the columns:\nterminal, without escapes:\n%s\npiped:\n%s", got, piped.String())
	}

	t.Setenv("NO_COLOR", "1")
	tty, read = openPTY(t)
	if err := runList(context.Background(), tty, false); err != nil {
		t.Fatal(err)
	}
	if got := read(); strings.Contains(got, "\x1b") {
		t.Errorf("list with NO_COLOR has escapes: %q", got)
	}
}

// TestDoctorColor: doctor's ok is green and FAIL red on a terminal, in the
// same columns as without colour.
func TestDoctorColor(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v0/doctor", answer(api.Doctor{OK: false, Checks: []api.Check{
		{Name: "engine", OK: true, Detail: "docker 28"},
		{Name: "credential", OK: false, Detail: "none", Fix: "clauderon token set"},
	}}))
	fakeDaemon(t, mux)
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	var piped bytes.Buffer
	var ee exitError
	if err := runDoctor(context.Background(), &piped, "img", false); !errors.As(err, &ee) {
		t.Fatalf("doctor with a failing check: %v", err)
	}
	if strings.Contains(piped.String(), "\x1b") {
		t.Errorf("piped doctor has escapes: %q", piped.String())
	}
	tty, read := openPTY(t)
	runDoctor(context.Background(), tty, "img", false)
	painted := read()
	if !strings.Contains(painted, paint(true, colorGreen, "ok")+"  ") || !strings.Contains(painted, paint(true, colorRed, "FAIL")) {
		t.Errorf("doctor on a terminal: %q", painted)
	}
	if got := escRE.ReplaceAllString(painted, ""); got != piped.String() {
		t.Errorf("colour moved the columns:\n%s\nvs\n%s", got, piped.String())
	}
}

// completions runs cobra's hidden __complete as a shell does and returns
// the candidates it printed (without descriptions) and its stderr.
func completions(t *testing.T, args ...string) (names []string, stderr string) {
	t.Helper()
	out, errOut, code := runCLI(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d, %s", args, code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, ":") {
			continue // the directive
		}
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, errOut
}

// TestCompleteSessionNames: every command that takes NAME completes the
// daemon's session names (with their status), filtered by what is typed
// and less those already given; without a daemon, nothing, quietly.
func TestCompleteSessionNames(t *testing.T) {
	all := []string{"alpha", "beta-long-name", "gamma", "delta"}
	t.Run("daemon", func(t *testing.T) {
		fakeDaemon(t, sessionsHandler())
		for _, cmd := range []string{"attach", "logs", "stop", "rm", "diff", "land", "apply", "continue"} {
			if got, _ := completions(t, cmd, ""); !slices.Equal(got, all) {
				t.Errorf("%s: got %q, want %q", cmd, got, all)
			}
		}
		// egress NAME has subcommands too: both are offered.
		if got, want := func() []string { g, _ := completions(t, "egress", ""); return g }(), append([]string{"allow", "mode"}, all...); !slices.Equal(got, want) {
			t.Errorf("egress: got %q, want %q", got, want)
		}
		if got, _ := completions(t, "egress", "allow", ""); !slices.Equal(got, all) {
			t.Errorf("egress allow: got %q, want %q", got, all)
		}
		if got, _ := completions(t, "attach", "g"); !slices.Equal(got, []string{"gamma"}) {
			t.Errorf("attach g: got %q", got)
		}
		if got, _ := completions(t, "rm", "alpha", "gamma", ""); !slices.Equal(got, []string{"beta-long-name", "delta"}) {
			t.Errorf("rm alpha gamma: got %q", got)
		}
		if got, _ := completions(t, "attach", "alpha", ""); len(got) != 0 {
			t.Errorf("attach alpha (one NAME only): got %q", got)
		}
		if got, _ := completions(t, "continue", "alpha", ""); len(got) != 0 {
			t.Errorf("continue alpha (a PROMPT next): got %q", got)
		}
		if got, _ := completions(t, "egress", "mode", "alpha", ""); !slices.Equal(got, []string{"open", "balanced", "locked"}) {
			t.Errorf("egress mode alpha: got %q", got)
		}
		out, _, _ := runCLI(t, "__complete", "attach", "a")
		if !strings.Contains(out, "alpha\trunning\n") {
			t.Errorf("attach a: %q lacks the status as description", out)
		}
	})
	t.Run("no daemon", func(t *testing.T) {
		noDaemon(t)
		got, errOut := completions(t, "attach", "")
		if len(got) != 0 || strings.Contains(errOut, "clauderon:") || strings.Contains(errOut, "cannot reach") {
			t.Errorf("got %q, stderr %q; want nothing and no error", got, errOut)
		}
	})
}

// TestCompletionScripts: completion prints cobra's script for each shell.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{"bash": "# bash completion V2 for clauderon", "zsh": "#compdef clauderon", "fish": "# fish completion for clauderon"} {
		out, errOut, code := runCLI(t, "completion", shell)
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("completion %s: exit %d, %.60q, %s", shell, code, out, errOut)
		}
	}
}

// TestStatus: status shows the daemon's pid, home, proxy port and
// addresses and the MCP URL, or why MCP is off; --json is the daemon's.
func TestStatus(t *testing.T) {
	st := api.DaemonStatus{Version: "v0", PID: 4242, Home: "/h", ProxyPort: 40123, ProxyAddrs: []string{"127.0.0.1:40123", "172.17.0.1:40123"}, MCPURL: "http://127.0.0.1:18090/mcp"}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v0/status", answer(st))
	fakeDaemon(t, mux)
	out, _, code := runCLI(t, "status")
	for _, want := range []string{"pid 4242", "home     /h", "port 40123", "127.0.0.1:40123, 172.17.0.1:40123", "mcp      http://127.0.0.1:18090/mcp"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status (exit %d) %q lacks %q", code, out, want)
		}
	}
	out, _, _ = runCLI(t, "status", "--json")
	var got api.DaemonStatus
	if err := json.Unmarshal([]byte(out), &got); err != nil || !slices.Equal(got.ProxyAddrs, st.ProxyAddrs) || got.ProxyPort != st.ProxyPort || got.MCPURL != st.MCPURL {
		t.Errorf("status --json: %q (%v)", out, err)
	}
	off := statusReport(api.DaemonStatus{MCPError: "port held", UIError: "ui port held"}, "")
	if !strings.Contains(off, "mcp      off: port held") || !strings.Contains(off, "ui       off: ui port held") {
		t.Errorf("MCP and UI off: %q", off)
	}
	on := statusReport(api.DaemonStatus{UIURL: "http://127.0.0.1:18091"}, "")
	if !strings.Contains(on, "ui       http://127.0.0.1:18091 (log in with `clauderon ui`)") {
		t.Errorf("UI on: %q", on)
	}
	if none := statusReport(api.DaemonStatus{}, ""); !strings.Contains(none, "ui       off (ui.port in config.json)") {
		t.Errorf("UI turned off: %q", none)
	}
}
