package tray

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

func sess(name string, st api.SessionStatus, mode api.Mode, a *api.Activity) api.Session {
	return api.Session{Name: name, Status: st, Mode: mode, Activity: a}
}

func TestBuild(t *testing.T) {
	one := 1
	exited := sess("done", api.StatusExited, api.ModeInteractive, nil)
	exited.ExitCode = &one
	sessions := map[string]api.Session{
		"waits":   sess("waits", api.StatusRunning, api.ModeInteractive, &api.Activity{State: api.ActivityWaitingInput, Known: true}),
		"asks":    sess("asks", api.StatusRunning, api.ModeInteractive, &api.Activity{State: api.ActivityWaitingPerm, Known: true}),
		"busy":    sess("busy", api.StatusRunning, api.ModeInteractive, &api.Activity{State: api.ActivityWorking, Tool: "mcp__gh__pr", Known: true}),
		"report":  sess("report", api.StatusExited, api.ModePrint, nil),
		"done":    exited,
		"new":     sess("new", api.StatusCreating, api.ModeInteractive, nil),
		"gone":    sess("gone", api.StatusDeleted, api.ModeInteractive, nil),
		"broke":   sess("broke", api.StatusFailed, api.ModePrint, nil),
		"unknown": sess("unknown", api.StatusRunning, api.ModeInteractive, &api.Activity{State: api.ActivityRunning}),
	}
	got := build(link{connected: true, proxyUp: true}, sessions)
	want := menu{
		status:    "Proxy up, 4 running, 2 waiting for input",
		tooltip:   "clauderon: Proxy up, 4 running, 2 waiting for input",
		attention: true,
		items: []item{
			{"asks", "asks: waiting for permission", actAttach},
			{"broke", "broke: failed [print]", actOpen},
			{"busy", "busy: working: mcp__gh__pr", actAttach},
			{"done", "done: exited (1)", actAttach},
			{"new", "new: starting", actAttach},
			{"report", "report: exited [print]", actOpen},
			{"unknown", "unknown: running", actAttach},
			{"waits", "waits: waiting for input", actAttach},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("build =\n%+v\nwant\n%+v", got, want)
	}
}

func TestBuildLink(t *testing.T) {
	tests := []struct {
		l    link
		want string
	}{
		{link{connected: true}, "Proxy down, 0 running, 0 waiting for input"},
		{link{connected: false, err: "dial: no such file"}, "Daemon not reachable"},
		{link{}, "Connecting to the daemon..."},
	}
	for _, tt := range tests {
		if got := build(tt.l, nil).status; got != tt.want {
			t.Errorf("status for %+v = %q, want %q", tt.l, got, tt.want)
		}
	}
}

func TestBuildMore(t *testing.T) {
	sessions := map[string]api.Session{}
	for i := range maxItems + 3 {
		n := fmt.Sprintf("s%03d", i)
		sessions[n] = sess(n, api.StatusRunning, api.ModeInteractive, nil)
	}
	m := build(link{connected: true}, sessions)
	if len(m.items) != maxItems || m.more != 3 {
		t.Fatalf("%d items and %d more, want %d and 3", len(m.items), m.more, maxItems)
	}
}

// TestHostileLabels: a tool name the hooks reported (validated today, but
// the tray does not rely on it) never puts control or invisible characters
// in a label.
func TestHostileLabels(t *testing.T) {
	for _, tool := range []string{"Bash\x1b]0;pwned\x07", "a\u202eb", "x\ny", "z\u200bz", strings.Repeat("T", 200)} {
		s := sess("s1", api.StatusRunning, api.ModeInteractive, &api.Activity{State: api.ActivityWorking, Tool: tool})
		l := sessionLabel(s)
		if len(l) > maxLabel {
			t.Errorf("label for %q is %d bytes, want at most %d", tool, len(l), maxLabel)
		}
		for _, r := range l {
			if r < 0x20 || r > 0x7e {
				t.Errorf("label for %q holds %U: %q", tool, r, l)
			}
		}
		if !strings.HasPrefix(l, "s1: working: ") {
			t.Errorf("label for %q = %q", tool, l)
		}
	}
}

func TestMnemonic(t *testing.T) {
	tests := []struct{ goos, in, want string }{
		{"linux", "s: working: mcp__gh_pr", "s: working: mcp____gh__pr"},
		{"freebsd", "a_b", "a__b"},
		{"windows", "a_b & c", "a_b && c"},
		{"darwin", "a_b & c", "a_b & c"},
	}
	for _, tt := range tests {
		if got := mnemonic(tt.goos, tt.in); got != tt.want {
			t.Errorf("mnemonic(%s, %q) = %q, want %q", tt.goos, tt.in, got, tt.want)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
