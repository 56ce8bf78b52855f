package kubernetes

import (
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestHarvestPodNameIsNoSessions: no session's pod can be named as
// another's harvest pod, which Harvest and Remove delete.
func TestHarvestPodNameIsNoSessions(t *testing.T) {
	h := HarvestPod(session.ContainerName("a"))
	name := h[len("clauderon-"):]
	if session.ValidateName(name) == nil {
		t.Errorf("harvest pod %s is session %q's pod name", h, name)
	}
}
