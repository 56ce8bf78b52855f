package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps client/ a client: a front end that imports it gets the
// LocalAPI's wire types and nothing of the daemon's (no proxy, no
// credential store, no keychain or D-Bus, no container engine).
func TestDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/clauderon/clauderon/client").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/clauderon/clauderon/proxy",
		"github.com/clauderon/clauderon/secret",
		"github.com/clauderon/clauderon/session",
		"github.com/clauderon/clauderon/workspace",
		"github.com/clauderon/clauderon/backend",
		"github.com/clauderon/clauderon/daemon",
		"github.com/clauderon/clauderon/gateway",
		"github.com/zalando/go-keyring",
		"github.com/godbus/dbus",
		"github.com/docker/docker",
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("client imports %s; it should need only api and config", dep)
			}
		}
	}
}
