//go:build !nosystray && linux

package tray

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/launch"
)

// watcher is a minimal org.kde.StatusNotifierWatcher, the part of a panel
// an item talks to: it records who registered. No Debian package provides
// a watcher that runs headless, so the test is the panel.
type watcher struct {
	mu    sync.Mutex
	items []string // "bus-name/object/path"
	added chan struct{}
}

// RegisterStatusNotifierItem is the watcher's method. Per the spec the
// argument is a bus name or, as fyne sends, the item's object path on the
// caller's own connection.
func (w *watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := service
	if strings.HasPrefix(service, "/") {
		item = string(sender) + service
	} else {
		item = service + "/StatusNotifierItem"
	}
	w.mu.Lock()
	w.items = append(w.items, item)
	w.mu.Unlock()
	select {
	case w.added <- struct{}{}:
	default:
	}
	return nil
}

func startWatcher(t *testing.T) (*dbus.Conn, *watcher) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatalf("no D-Bus session bus (%v), and CLAUDERON_REQUIRE_E2E=1 requires this test: run it under dbus-run-session", err)
		}
		t.Skipf("no D-Bus session bus: %v (run under dbus-run-session)", err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &watcher{added: make(chan struct{}, 1)}
	if err := conn.Export(w, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.kde.StatusNotifierWatcher: %v (reply %v); is another panel on this bus?", err, reply)
	}
	return conn, w
}

// entry is one line of the dbusmenu, as a panel reads it.
type entry struct {
	id    int32
	label string
	typ   string
}

// layout reads the menu with GetLayout and lists its entries.
func layout(t *testing.T, obj dbus.BusObject) []entry {
	t.Helper()
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root); err != nil {
		t.Fatalf("GetLayout: %v", err)
	}
	var out []entry
	for _, c := range root.Children {
		f, ok := c.Value().([]any)
		if !ok || len(f) != 3 {
			t.Fatalf("a child of the layout is %T %v", c.Value(), c.Value())
		}
		props := f[1].(map[string]dbus.Variant)
		e := entry{id: f[0].(int32)}
		if v, ok := props["label"]; ok {
			e.label = v.Value().(string)
		}
		if v, ok := props["type"]; ok {
			e.typ = v.Value().(string)
		}
		if v, ok := props["visible"]; ok && !v.Value().(bool) {
			continue
		}
		out = append(out, e)
	}
	return out
}

func labels(es []entry) []string {
	var out []string
	for _, e := range es {
		if e.typ == "separator" {
			out = append(out, "---")
			continue
		}
		out = append(out, e.label)
	}
	return out
}

// waitLabels reads the menu until it shows want, as a panel does on
// LayoutUpdated, and returns its entries.
func waitLabels(t *testing.T, obj dbus.BusObject, want []string) []entry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		es := layout(t, obj)
		if reflect.DeepEqual(labels(es), want) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("the menu reads\n%q\nwant\n%q", labels(es), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func click(t *testing.T, obj dbus.BusObject, es []entry, label string) {
	t.Helper()
	for _, e := range es {
		if e.label == label {
			if err := obj.Call("com.canonical.dbusmenu.Event", 0, e.id, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
				t.Fatalf("Event clicked on %q: %v", label, err)
			}
			return
		}
	}
	t.Fatalf("no entry %q in %q", label, labels(es))
}

// childEnv names the fake daemon's socket to the tray's process.
const childEnv = "CLAUDERON_TRAY_TEST_SOCKET"

// TestMain runs as the tray's process of TestTrayOverDBus when
// $CLAUDERON_TRAY_TEST_SOCKET is set (fyne keeps one tray per process, so
// each test's tray gets a process of its own). It is not a test function,
// so fyne's own data race (see startChild) is logged rather than failing
// it: the parent reads the log and fails on any race of ours.
func TestMain(m *testing.M) {
	if sock := os.Getenv(childEnv); sock != "" {
		os.Exit(trayChild(sock))
	}
	os.Exit(m.Run())
}

// trayChild runs Run against the daemon at sock until stdin closes, and
// reports what the menu's entries did on stdout.
func trayChild(sock string) int {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	var mu sync.Mutex
	say := func(words ...string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(strings.Join(words, " "))
	}
	err := Run(ctx, Config{
		Client: &client.Client{Socket: sock},
		Attach: func(name string) error {
			say("attach", name)
			return launch.InTerminal(launch.AttachCommand(name))
		},
		OpenWindow:  func() { say("window") },
		OpenSession: func(name string) { say("open", name) },
		NewSession:  func() { say("new") },
		Quit:        func() { say("quit") },
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tray:", err)
		return 1
	}
	return 0
}

// TestTrayOverDBus runs the tray in a process of its own against a
// watcher and a fake daemon on the test's private session bus, and reads
// and clicks it as a panel would.
func TestTrayOverDBus(t *testing.T) {
	conn, w := startWatcher(t)

	dir := t.TempDir()
	record := filepath.Join(dir, "argv")
	stub := filepath.Join(dir, "term")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + record + ".tmp && mv " + record + ".tmp " + record + "\n"
	if err := os.WriteFile(stub, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	d := newFakeDaemon(t, []api.Session{
		{Name: "fix-bug", Status: api.StatusRunning, Mode: api.ModeInteractive,
			Activity: &api.Activity{State: api.ActivityWaitingInput, Known: true}},
		{Name: "refactor", Status: api.StatusRunning, Mode: api.ModeInteractive,
			Activity: &api.Activity{State: api.ActivityWorking, Tool: "mcp__gh__pr", Known: true}},
		{Name: "report", Status: api.StatusExited, Mode: api.ModePrint},
	})
	child := startChild(t, d.sock, stub)

	select {
	case <-w.added:
	case <-time.After(15 * time.Second):
		t.Fatal("no StatusNotifierItem registered with the watcher")
	}
	w.mu.Lock()
	reg := w.items[0]
	w.mu.Unlock()
	i := strings.Index(reg, "/")
	item := conn.Object(reg[:i], dbus.ObjectPath(reg[i:]))

	var title string
	if err := item.StoreProperty("org.kde.StatusNotifierItem.Title", &title); err != nil || title != "clauderon" {
		t.Fatalf("the item's Title is %q (%v), want clauderon", title, err)
	}
	var menuPath dbus.ObjectPath
	if err := item.StoreProperty("org.kde.StatusNotifierItem.Menu", &menuPath); err != nil {
		t.Fatalf("the item's Menu: %v", err)
	}
	menuObj := conn.Object(reg[:i], menuPath)

	fixed := []string{"---", "New session...", "Open window", "Quit"}
	// dbusmenu reads '_' as an access key, so the tool's underscores are
	// doubled on the wire and a panel shows mcp__gh__pr.
	es := waitLabels(t, menuObj, append([]string{
		"Proxy up, 2 running, 1 waiting for input",
		"---",
		"fix-bug: waiting for input",
		"refactor: working: mcp____gh____pr",
		"report: exited [print]",
	}, fixed...))

	click(t, menuObj, es, "fix-bug: waiting for input")
	child.want(t, "attach fix-bug")
	exe := child.path
	if got, want := waitRecord(t, record), []string{"-e", exe, "attach", "fix-bug"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the terminal ran %q, want %q", got, want)
	}
	click(t, menuObj, es, "report: exited [print]")
	child.want(t, "open report")

	// A state change relabels the item in place. How long it took is
	// logged, not asserted (the bench's business); the menu is read every
	// 20 ms, so that is its resolution.
	changed := time.Now()
	d.events <- api.Event{Kind: api.EventActivity, Name: "fix-bug", Activity: []byte(`{"state":"working","tool":"Bash","known":true}`)}
	waitLabels(t, menuObj, append([]string{
		"Proxy up, 2 running, 0 waiting for input",
		"---",
		"fix-bug: working: Bash",
		"refactor: working: mcp____gh____pr",
		"report: exited [print]",
	}, fixed...))
	t.Logf("a state change reached the menu on the bus within %v", time.Since(changed).Round(time.Millisecond))
	// A new session takes its place in order, a removed one leaves, and
	// what a hostile container's hooks could report shows plain.
	d.events <- api.Event{Kind: api.EventCreated, Name: "hostile", Session: &api.Session{
		Name: "hostile", Status: api.StatusRunning, Mode: api.ModeInteractive,
		Activity: &api.Activity{State: api.ActivityWorking, Tool: "x\x1b]0;owned\x07\u202e", Known: true}}}
	d.events <- api.Event{Kind: api.EventRemoved, Name: "report"}
	es = waitLabels(t, menuObj, append([]string{
		"Proxy up, 3 running, 0 waiting for input",
		"---",
		"fix-bug: working: Bash",
		"hostile: working: x?]0;owned??",
		"refactor: working: mcp____gh____pr",
	}, fixed...))
	// The slot that showed refactor now shows hostile: once it has settled
	// (settle after it changed, which was before the labels above could
	// be read), it attaches to whoever it shows.
	time.Sleep(settle)
	click(t, menuObj, es, "hostile: working: x?]0;owned??")
	child.want(t, "attach hostile")
	for _, e := range []struct{ label, said string }{{"New session...", "new"}, {"Open window", "window"}, {"Quit", "quit"}} {
		click(t, menuObj, es, e.label)
		child.want(t, e.said)
	}
	// With every session gone the menu says so.
	for _, n := range []string{"fix-bug", "hostile", "refactor"} {
		d.events <- api.Event{Kind: api.EventRemoved, Name: n}
	}
	waitLabels(t, menuObj, append([]string{"Proxy up, 0 running, 0 waiting for input", "---", "No sessions"}, fixed...))
	child.stop(t)
}

// trayProcess is the tray's process: this test binary running TestTrayChild.
type trayProcess struct {
	path  string
	cmd   *exec.Cmd
	stdin io.Closer
	said  chan string
	race  string // the race detector's log, when built with -race
}

func startChild(t *testing.T, sock, terminal string) *trayProcess {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &trayProcess{path: exe, said: make(chan string, 16), race: filepath.Join(t.TempDir(), "race")}
	p.cmd = exec.Command(exe)
	// fyne.io/systray v1.12.2 races with itself (its first GetLayout's
	// delayed refresh writes the menu's version without the lock GetLayout
	// reads it under), so the tray's process logs races instead of
	// failing, and stop fails on any race that is not wholly fyne's.
	p.cmd.Env = append(os.Environ(), childEnv+"="+sock, "TERMINAL="+terminal,
		"GORACE=log_path="+p.race+" exitcode=0")
	p.cmd.Stderr = os.Stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = in
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.said <- sc.Text()
		}
		close(p.said)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// want waits for the tray's process to report line; clicks are answered
// in order, so any other line first is a wrong action.
func (p *trayProcess) want(t *testing.T, line string) {
	t.Helper()
	for {
		select {
		case got, ok := <-p.said:
			if !ok {
				t.Fatalf("the tray's process ended; want %q", line)
			}
			if got == line {
				return
			}
			t.Fatalf("the tray said %q, want %q", got, line)
		case <-time.After(15 * time.Second):
			t.Fatalf("the tray never said %q", line)
		}
	}
}

// stop ends the tray (its stdin closes) and checks it exited cleanly with
// no race of its own.
func (p *trayProcess) stop(t *testing.T) {
	t.Helper()
	p.stdin.Close()
	var rest []string
	for l := range p.said {
		rest = append(rest, l)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("the tray's process: %v; its last words:\n%s", err, strings.Join(rest, "\n"))
	}
	logs, _ := filepath.Glob(p.race + ".*")
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range strings.Split(string(b), "==================") {
			if strings.Contains(r, "WARNING: DATA RACE") && !fyneOnly(r) {
				t.Errorf("a data race in the tray:\n%s", r)
			}
		}
	}
}

// fyneOnly reports whether both accesses of a race report are in
// fyne.io/systray's own code (the innermost frame of each).
func fyneOnly(report string) bool {
	lines := strings.Split(report, "\n")
	accesses := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "Write at") || strings.HasPrefix(l, "Read at") ||
			strings.HasPrefix(l, "Previous write at") || strings.HasPrefix(l, "Previous read at") {
			accesses++
			if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "fyne.io/systray.") {
				return false
			}
		}
	}
	return accesses == 2
}

func waitRecord(t *testing.T, path string) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
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

func TestFyneOnly(t *testing.T) {
	fyne := `
WARNING: DATA RACE
Write at 0x0000011a47f8 by goroutine 49:
  fyne.io/systray.refresh()
      /root/go/pkg/mod/fyne.io/systray@v1.12.2/systray_menu_unix.go:421 +0x1b0

Previous read at 0x0000011a47f8 by goroutine 80:
  fyne.io/systray.(*tray).GetLayout()
      /root/go/pkg/mod/fyne.io/systray@v1.12.2/systray_menu_unix.go:91 +0x2a4
`
	ours := strings.Replace(fyne, "  fyne.io/systray.(*tray).GetLayout()", "  github.com/clauderon/clauderon/tray.(*shown).show()", 1)
	if !fyneOnly(fyne) {
		t.Error("fyne's own race was not told as fyne's")
	}
	if fyneOnly(ours) {
		t.Error("a race in the tray's code was told as fyne's")
	}
}
