package cli

import (
	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// activityText is a live session's agent's state for `list`: "working:
// Bash", "waiting for input", "unknown" when its hooks never reported; "-"
// once it ended (STATUS says how).
func activityText(s session.Session) string {
	a := s.Activity
	switch {
	case a == nil || (s.Status != session.StatusRunning && s.Status != session.StatusCreating):
		return "-"
	case !a.Known:
		return "unknown"
	case a.State == api.ActivityStarting:
		return "starting"
	}
	return a.String()
}
