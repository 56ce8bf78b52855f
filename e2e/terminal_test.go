//go:build linux

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/session"
)

// ptyRun is a clauderon command on a real pty, and what its terminal got.
type ptyRun struct {
	cmd    *exec.Cmd
	ptmx   *os.File
	mu     sync.Mutex
	screen bytes.Buffer
	read   chan struct{}
}

func startOnPTY(t *testing.T, home string, rows, cols uint16, args ...string) *ptyRun {
	t.Helper()
	p := &ptyRun{cmd: execClauderon(home, args...), read: make(chan struct{})}
	ptmx, err := pty.StartWithSize(p.cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	p.ptmx = ptmx
	go func() {
		defer close(p.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.mu.Lock()
			p.screen.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		ptmx.Close()
		if t.Failed() {
			t.Logf("what the terminal of %v received: %q", args, p.output())
		}
	})
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.screen.String()
}

// detach types ctrl-p ctrl-q, waits for attach to exit and returns what the
// terminal received from then on.
func (p *ptyRun) detach(t *testing.T, name string) string {
	t.Helper()
	from := len(p.output())
	if _, err := p.ptmx.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("attach after detaching: %v", err)
	}
	// Everything attach wrote is in the pty's buffer once it exited.
	waitFor(t, "the detach message", func() bool { return strings.Contains(p.output()[from:], "detached from "+name) })
	return p.output()[from:]
}

// cooked reports whether the pty's terminal is back in its usual mode
// (line editing and echo, as a shell expects), not raw.
func (p *ptyRun) cooked(t *testing.T) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.ptmx.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ICANON != 0 && tio.Lflag&unix.ECHO != 0
}

var decsetRE = regexp.MustCompile(`\x1b\[\?([0-9;]+)h`)

// Modes that are off in a terminal as a shell finds it; a TUI turns them on.
var offModes = map[string]bool{"1": true, "9": true, "1000": true, "1002": true, "1003": true, "1004": true,
	"1005": true, "1006": true, "1015": true, "1016": true, "2004": true, "2031": true}

// TestTerminalInteractive attaches to the real Claude Code's TUI on a real
// pty: detaching gives the terminal back as it was (every mode the TUI set
// reset, the cursor shown, the terminal cooked again) with the message on
// a line of its own; attaching again at the same size redraws the screen
// without anyone resizing; logs prints none of the TUI's escape sequences
// (its queries would be answered into the shell), --raw all of them;
// attach without a terminal is refused; and a session that ends while
// attached gives the terminal back too.
func TestTerminalInteractive(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("tui")
	clOK(t, e.home, "create", "--name", name, "--prompt", "say hello", "--image", e.image, "--workdir", workdir(t))

	first := startOnPTY(t, e.home, 40, 120, "attach", name)
	waitFor(t, "the answer in Claude Code's TUI", func() bool {
		return strings.Contains(screenText(first.output()), "fakeAnthropicupstream")
	})
	before := first.output()
	after := first.detach(t, name)

	want := []string{"\x1b[?25h", "\x1b[?2004l", "\x1b[?1004l", "\x1b[?1000l", "\x1b[?1002l", "\x1b[?1003l",
		"\x1b[?1006l", "\x1b[?1l", "\x1b>", "\x1b[0m"}
	for _, m := range decsetRE.FindAllStringSubmatch(before, -1) {
		for _, n := range strings.Split(m[1], ";") {
			if offModes[n] {
				want = append(want, "\x1b[?"+n+"l")
			}
		}
	}
	if strings.Contains(before, "\x1b[?1049h") {
		want = append(want, "\x1b[?1049l")
	} else if strings.Contains(after, "\x1b[?1049l") {
		// Leaving a screen it is not on moves the cursor to where the TUI
		// last saved it, and the shell's prompt would land there.
		t.Error("attach left the alternate screen, which the TUI never entered")
	}
	msg := strings.Index(after, "detached from "+name)
	for _, w := range want {
		if i := strings.LastIndex(after, w); i < 0 || i > msg {
			t.Errorf("after detaching, the terminal was not given %q before the message", w)
		}
	}
	if !regexp.MustCompile(`\r\n(\x1b\[J)?detached from ` + name + `;[^\r\n\x1b]*\r\n$`).MatchString(after) {
		t.Errorf("the detach message is not on a line of its own at the end: %q", after[max(0, len(after)-200):])
	}
	if !first.cooked(t) {
		t.Error("the terminal is still raw after detaching")
	}
	<-first.read

	// Attaching again at the same size: the TUI draws its screen again,
	// though no size changed, and the session's terminal keeps ours.
	second := startOnPTY(t, e.home, 40, 120, "attach", name)
	waitFor(t, "the redrawn screen", func() bool {
		out := second.output()
		i := strings.Index(out, "ctrl-p ctrl-q")
		return i >= 0 && strings.Contains(screenText(out[i:]), "fakeAnthropicupstream")
	})
	waitFor(t, "the session's terminal back at 40x120", func() bool {
		out, err := dockerCLI(t, "exec", session.ContainerName(name), "stty", "-F", "/dev/console", "size")
		return err == nil && strings.TrimSpace(out) == "40 120"
	})
	second.detach(t, name)

	// logs: the TUI's output as text, with none of its sequences; the TUI
	// set its title (OSC) and queried the terminal, which --raw keeps.
	logs := clOK(t, e.home, "logs", name)
	if i := strings.IndexFunc(logs, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 }); i >= 0 {
		t.Errorf("logs printed a control character (%q at %d): %q", logs[i], i, logs[max(0, i-40):min(len(logs), i+40)])
	}
	if !strings.Contains(logs, fakeanthropic.DefaultReply) {
		t.Errorf("logs lack the answer %q:\n%s", fakeanthropic.DefaultReply, logs)
	}
	raw := clOK(t, e.home, "logs", "--raw", name)
	if !strings.Contains(raw, "\x1b]") || !strings.Contains(raw, "\x1b[?2004h") {
		t.Errorf("logs --raw lack the TUI's title and modes: %.300q", raw)
	}
	if _, errOut, code := cl(t, e.home, "logs", "--json", name); code == 0 || !strings.Contains(errOut, "--raw") {
		t.Errorf("logs --json of an interactive session: exit %d, %q", code, errOut)
	}

	// Without a terminal, attach refuses, as docker does, and the session
	// is untouched.
	cmd := execClauderon(e.home, "attach", name) // stdin: /dev/null
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "the input device is not a TTY") || !strings.Contains(stderr.String(), "clauderon logs -f "+name) {
			t.Errorf("attach </dev/null: %v, %q", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("attach </dev/null did not refuse")
	}
	if s, ok := findSession(listSessions(t, e.home), name); !ok || s.Status != session.StatusRunning {
		t.Errorf("the session after the refused attach: %+v", s)
	}

	// However attach ends, the terminal is given back: here, the session
	// stops while attached.
	third := startOnPTY(t, e.home, 40, 120, "attach", name)
	waitFor(t, "the third attach's redraw", func() bool { return strings.Contains(screenText(third.output()), "fakeAnthropicupstream") })
	from := len(third.output())
	clOK(t, e.home, "stop", name)
	if err := third.cmd.Wait(); err != nil {
		t.Errorf("attach when the session stopped: %v", err)
	}
	waitFor(t, "the end message", func() bool { return strings.Contains(third.output()[from:], "session "+name+" ended") })
	ended := third.output()[from:]
	if !strings.Contains(ended, "\x1b[?2004l") || !strings.Contains(ended, "\x1b[?25h") ||
		!regexp.MustCompile(`\r\n(\x1b\[J)?session `+name+` ended\r\n$`).MatchString(ended) {
		t.Errorf("when the session ended, attach wrote %q", ended[max(0, len(ended)-300):])
	}
	if !third.cooked(t) {
		t.Error("the terminal is still raw after the session ended")
	}
}

// TestTerminalPrint: a print session whose answer holds a clipboard write
// (OSC 52), a title change and a screen clear prints none of them, in its
// result or its logs, which render the conversation (a tool call and its
// result included) as text; --json gives the stream-json lines.
func TestTerminalPrint(t *testing.T) {
	e := newSessionEnv(t)
	const hostile = "Done. \x1b]52;c;cHduZWQ=\x07\x1b]0;pwned\x07\x1b[2J\x1b[H\u202eevil"
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool("Bash") {
			return nil
		}
		if len(m.ToolResults()) > 0 {
			return &fakeanthropic.Turn{Text: hostile}
		}
		return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{Name: "Bash", Input: map[string]any{
			"command": "echo tool-said-hi", "description": "say hi"}}}
	})
	name := sname("p1")
	out, errOut, code := cl(t, e.home, "create", "--name", name, "--prompt", "run echo", "--print", "--wait", "--image", e.image, "--no-workdir")
	if code != 0 {
		t.Fatalf("create --print --wait: exit %d\n%s\n%s", code, out, errOut)
	}
	checkNoEscapes := func(what, text string) {
		t.Helper()
		if strings.ContainsAny(text, "\x1b\x07\u202e") {
			t.Errorf("%s printed a terminal sequence or bidi override: %q", what, text)
		}
		if !strings.Contains(text, `\x1b]52;c;cHduZWQ=\x07`) || !strings.Contains(text, `\x1b[2J`) || !strings.Contains(text, `\u202eevil`) {
			t.Errorf("%s does not show the escapes as text: %q", what, text)
		}
	}
	checkNoEscapes("create --wait", out)

	logs := clOK(t, e.home, "logs", name)
	checkNoEscapes("logs", logs)
	for _, w := range []string{"● Bash(echo tool-said-hi)", "⎿  tool-said-hi", "── done · 2 turns · $"} {
		if !strings.Contains(logs, w) {
			t.Errorf("logs lack %q:\n%s", w, logs)
		}
	}
	for _, flag := range []string{"--json", "--raw"} {
		raw := clOK(t, e.home, "logs", flag, name)
		if !strings.Contains(raw, `{"type":"system"`) || !strings.Contains(raw, `"type":"result"`) || !strings.Contains(raw, `\u001b]52`) {
			t.Errorf("logs %s is not the stream-json: %.300s", flag, raw)
		}
	}
}
