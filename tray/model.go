package tray

import (
	"fmt"
	"sort"
	"strings"

	"github.com/clauderon/clauderon/api"
)

// action is what clicking a session's item does.
type action int

const (
	actAttach action = iota // an interactive session: attach in a terminal
	actOpen                 // a print session: its result in the window
)

// item is one session's line of the menu.
type item struct {
	name   string
	label  string
	action action
}

// menu is everything the tray shows but its fixed entries: a pure function
// of the daemon's state (build), so its words and escaping are tested
// without D-Bus.
type menu struct {
	status  string
	tooltip string
	items   []item
	// more counts the sessions left out past maxItems.
	more int
	// attention: a session waits for the user (the icon says so).
	attention bool
}

// link is what the tray knows of the daemon apart from its sessions.
type link struct {
	connected bool
	proxyUp   bool
	err       string // why it is not connected (our own words); "" while connecting
}

// maxItems bounds the session items, so a hundred sessions do not make a
// menu taller than the screen; the window lists them all.
const maxItems = 25

// maxLabel bounds a label's length (a tool name alone may be 128).
const maxLabel = 64

func build(l link, sessions map[string]api.Session) menu {
	var m menu
	names := make([]string, 0, len(sessions))
	running, waiting := 0, 0
	for name, s := range sessions {
		if s.Status == api.StatusDeleted {
			continue
		}
		names = append(names, name)
		if s.Status == api.StatusRunning {
			running++
			if needsYou(s) {
				waiting++
			}
		}
	}
	sort.Strings(names)
	for i, name := range names {
		if i == maxItems {
			m.more = len(names) - maxItems
			break
		}
		s := sessions[name]
		act := actAttach
		if s.Mode == api.ModePrint {
			act = actOpen
		}
		m.items = append(m.items, item{name: name, label: sessionLabel(s), action: act})
	}
	switch {
	case !l.connected && l.err == "":
		m.status = "Connecting to the daemon..."
		m.tooltip = "clauderon: connecting to the daemon"
		return m
	case !l.connected:
		m.status = "Daemon not reachable"
		m.tooltip = "clauderon: daemon not reachable"
		if l.err != "" {
			m.tooltip += ": " + plain(l.err, 200)
		}
		return m
	case l.proxyUp:
		m.status = "Proxy up"
	default:
		m.status = "Proxy down"
	}
	m.attention = waiting > 0
	m.status += fmt.Sprintf(", %d running, %d waiting for input", running, waiting)
	m.tooltip = "clauderon: " + m.status
	return m
}

// needsYou is the web UI's needsYou (frontend/js/format.js): the agent
// waits for the user's answer or permission.
func needsYou(s api.Session) bool {
	if s.Status != api.StatusRunning || s.Activity == nil {
		return false
	}
	return s.Activity.State == api.ActivityWaitingInput || s.Activity.State == api.ActivityWaitingPerm
}

// sessionLabel is "name: state", with "[print]" for a print session, whose
// click opens its result rather than attaching.
func sessionLabel(s api.Session) string {
	l := s.Name + ": " + state(s)
	if s.Mode == api.ModePrint {
		l += " [print]"
	}
	return plain(l, maxLabel)
}

// state is the session's state in the tray's words: working, waiting for
// input, exited, and the few others a session can be in.
func state(s api.Session) string {
	switch s.Status {
	case api.StatusCreating:
		return "starting"
	case api.StatusRunning:
		a := s.Activity
		if a == nil {
			return "running"
		}
		switch a.State {
		case api.ActivityWorking:
			if a.Tool != "" {
				return "working: " + a.Tool
			}
			return "working"
		case api.ActivityWaitingInput:
			return "waiting for input"
		case api.ActivityWaitingPerm:
			return "waiting for permission"
		case api.ActivityIdle:
			return "idle"
		case api.ActivityStarting:
			return "starting"
		}
		return "running"
	case api.StatusExited:
		if s.ExitCode != nil && *s.ExitCode != 0 {
			return fmt.Sprintf("exited (%d)", *s.ExitCode)
		}
		return "exited"
	case api.StatusStopped:
		return "stopped"
	case api.StatusFailed:
		return "failed"
	}
	// A status of a newer daemon: say it, made plain.
	return string(s.Status)
}

// plain keeps a label printable ASCII: the names are validated, but a
// tool name comes from the hooks of a container that may be hostile, and
// whatever the validation lets through later, a panel must not be given
// control characters, bidirectional overrides or invisible ones. Anything
// else becomes '?'; the result is at most max bytes.
func plain(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > max {
		out = out[:max-3] + "..."
	}
	return out
}

// mnemonic escapes what a platform's menus read as an access key, so a
// label shows as written: dbusmenu (Linux) takes '_' before a letter as
// one, "__" as a literal underscore; Windows takes '&'.
func mnemonic(goos, label string) string {
	switch goos {
	case "windows":
		return strings.ReplaceAll(label, "&", "&&")
	case "darwin":
		return label
	}
	return strings.ReplaceAll(label, "_", "__")
}
