package notify

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testenv"
	"github.com/godbus/dbus/v5"
)

// startDunst runs Debian's dunst, a real notification daemon, on the
// test's bus, drawing on its own Xvfb display; it owns
// org.freedesktop.Notifications when this returns. markup = full is
// Debian's default dunstrc's, so it reads bodies as markup.
func startDunst(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	for _, tool := range []string{"Xvfb", "dunst"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is not installed", tool)
		}
	}
	// -displayfd: Xvfb picks a free display and writes its number to fd 3.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	xlog := &syncbuf.Buffer{}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	x.ExtraFiles, x.Stdout, x.Stderr = []*os.File{w}, xlog, xlog
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	display, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		t.Fatalf("Xvfb told no display: %v\n%s", err, xlog)
	}
	display = ":" + strings.TrimSpace(display)

	cfg := filepath.Join(t.TempDir(), "dunstrc")
	if err := os.WriteFile(cfg, []byte("[global]\n    markup = full\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dlog := &syncbuf.Buffer{}
	d := exec.Command("dunst", "-config", cfg)
	d.Env = append(os.Environ(), "DISPLAY="+display)
	d.Stdout, d.Stderr = dlog, dlog
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { d.Wait(); close(exited) }()
	t.Cleanup(func() {
		d.Process.Kill()
		<-exited
		t.Logf("dunst's log:\n%s", dlog)
	})
	deadline := time.Now().Add(time.Minute)
	for {
		var owned bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&owned)
		if err == nil && owned {
			return
		}
		select {
		case <-exited:
			t.Fatalf("dunst exited before it owned %s:\n%s", busName, dlog)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dunst did not own %s in a minute (%v):\n%s", busName, err, dlog)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDunst: with the real dunst on the bus, a session that starts
// waiting for input shows a notification; invoking its default action in
// dunst (what a click does) opens the session; dunst's history then holds
// it (once closed), with the prompt's markup escaped.
func TestDunst(t *testing.T) {
	requireBus(t)
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	startDunst(t, conn)
	dunst := conn.Object(busName, busPath)

	s := sess("i", api.ModeInteractive, api.StatusRunning)
	s.Prompt = "make <b>this</b> & that"
	f, c := startFakeDaemon(t, snapshot(s))
	opened, _ := runNotify(t, Config{Client: c})
	f.send(t, activity("i", api.ActivityWorking), activity("i", api.ActivityWaitingInput))

	deadline := time.Now().Add(time.Minute)
	for {
		v, err := dunst.GetProperty("org.dunstproject.cmd0.displayedLength")
		if n, _ := v.Value().(uint32); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dunst displays no notification (%v, %v)", v, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := dunst.Call("org.dunstproject.cmd0.NotificationAction", 0, uint32(0)).Err; err != nil {
		t.Fatal(err)
	}
	if got := nextOpened(t, opened); got != "i" {
		t.Errorf("dunst's default action opened %q, want i", got)
	}

	// Closed, it goes to dunst's history, which tells what it received.
	if err := dunst.Call("org.dunstproject.cmd0.NotificationCloseAll", 0).Err; err != nil {
		t.Fatal(err)
	}
	var hist []map[string]dbus.Variant
	for {
		hist = nil
		if err := dunst.Call("org.dunstproject.cmd0.NotificationListHistory", 0).Store(&hist); err != nil {
			t.Fatal(err)
		}
		if len(hist) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(hist) != 1 {
		t.Fatalf("dunst's history: %v, want the one notification", hist)
	}
	field := func(k string) string {
		v, _ := hist[0][k].Value().(string)
		return v
	}
	t.Logf("dunst's history: %v", hist[0])
	if got := field("summary"); got != "i is waiting for input" {
		t.Errorf("summary %q", got)
	}
	if got := field("appname"); got != AppName {
		t.Errorf("appname %q", got)
	}
	// Escaped, dunst's markup shows the prompt as it is, not bold.
	if got := field("body"); !strings.Contains(got, "Prompt: make &lt;b&gt;this&lt;/b&gt; &amp; that\n") {
		t.Errorf("body %q is not the prompt escaped", got)
	}
}
