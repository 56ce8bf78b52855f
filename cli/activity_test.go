package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

// TestListActivity: list shows what a live session's agent does, "unknown"
// when its hooks never reported, and never a control character.
func TestListActivity(t *testing.T) {
	now := time.Now()
	l := api.SessionList{Sessions: []api.Session{
		{Name: "a", Status: api.StatusRunning, Activity: &api.Activity{State: api.ActivityWorking, Tool: "Bash", Known: true}},
		{Name: "b", Status: api.StatusRunning, Activity: &api.Activity{State: api.ActivityWaitingInput, Known: true}},
		{Name: "c", Status: api.StatusRunning, Activity: &api.Activity{State: api.ActivityRunning}},
		{Name: "d", Status: api.StatusExited, Activity: &api.Activity{State: "exited", Known: true}},
		{Name: "e", Status: api.StatusRunning, Activity: &api.Activity{State: api.ActivityWorking, Tool: "x\x1b[2J", Known: true}},
	}}
	var b bytes.Buffer
	if err := renderList(&b, l, now, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ACTIVITY", "working: Bash", "waiting for input", "unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("list printed an escape: %q", out)
	}
}
