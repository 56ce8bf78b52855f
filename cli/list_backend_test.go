package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

// TestListBackend: list shows each session's backend (docker for one that
// names none), and a session whose cluster cannot be reached as unknown,
// with why.
func TestListBackend(t *testing.T) {
	l := api.SessionList{Sessions: []api.Session{
		{Name: "d1", Status: api.StatusRunning, Mode: api.ModePrint},
		{Name: "k1", Status: api.StatusUnknown, Mode: api.ModePrint, Backend: api.BackendKubernetes, Warning: "its engine cannot be reached"},
	}}
	var b bytes.Buffer
	if err := renderList(&b, l, time.Now(), false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if !strings.Contains(lines[0], "BACKEND") {
		t.Fatalf("no BACKEND column:\n%s", out)
	}
	row := func(name string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, name+" ") {
				return l
			}
		}
		t.Fatalf("no row %s:\n%s", name, out)
		return ""
	}
	if r := row("d1"); !strings.Contains(r, "docker") {
		t.Errorf("d1: %q", r)
	}
	if r := row("k1"); !strings.Contains(r, "kubernetes") || !strings.Contains(r, "unknown") {
		t.Errorf("k1: %q", r)
	}
	if !strings.Contains(out, "warning: k1: its engine cannot be reached") {
		t.Errorf("no warning for k1:\n%s", out)
	}
}

func TestCreateRefusesUnknownBackend(t *testing.T) {
	err := runCreate(t.Context(), &bytes.Buffer{}, &bytes.Buffer{}, createFlags{name: "x", backend: "podman", noWorkdir: true})
	if err == nil || !strings.Contains(err.Error(), "want docker or kubernetes") {
		t.Fatalf("err %v", err)
	}
}
