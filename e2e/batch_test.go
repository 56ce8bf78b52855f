package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSessionBatchCommands: stop and rm act on every name given, report the
// ones that fail and go on, and print JSON for scripts.
func TestSessionBatchCommands(t *testing.T) {
	e := newSessionEnv(t)
	a, b := sname("batch-a"), sname("batch-b")
	for _, n := range []string{a, b} {
		clOK(t, e.home, "create", "--name", n, "--prompt", "hi", "--image", e.image, "--no-workdir")
	}

	out, errOut, code := cl(t, e.home, "stop", "--json", a, "no-such-session", b)
	if code != 1 {
		t.Fatalf("stop with one unknown name: exit %d, want 1\n%s%s", code, out, errOut)
	}
	var st struct {
		Sessions []struct{ Name, Status string } `json:"sessions"`
		Errors   map[string]string               `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stop --json printed %q: %v", out, err)
	}
	if len(st.Sessions) != 2 || st.Sessions[0].Name != a || st.Sessions[1].Name != b {
		t.Errorf("stop --json sessions = %+v, want %s and %s", st.Sessions, a, b)
	}
	for _, s := range st.Sessions {
		if s.Status != "stopped" {
			t.Errorf("%s is %s after stop, want stopped", s.Name, s.Status)
		}
	}
	if !strings.Contains(st.Errors["no-such-session"], "no-such-session") {
		t.Errorf("stop --json errors = %v, want one naming no-such-session", st.Errors)
	}

	out, errOut, code = cl(t, e.home, "rm", a, "no-such-session", b)
	if code != 1 || !strings.Contains(out, "removed "+a) || !strings.Contains(out, "removed "+b) ||
		!strings.Contains(errOut, "no-such-session") {
		t.Fatalf("rm with one unknown name: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if l := listSessions(t, e.home); len(l.Sessions) != 0 {
		t.Errorf("sessions left after rm: %+v", l.Sessions)
	}

	out, _, code = cl(t, e.home, "rm", "--json", "no-such-session")
	var rm struct {
		Removed []string          `json:"removed"`
		Errors  map[string]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &rm); err != nil || code != 1 || len(rm.Removed) != 0 || rm.Errors["no-such-session"] == "" {
		t.Errorf("rm --json of an unknown name: exit %d, %q (%v)", code, out, err)
	}
}
