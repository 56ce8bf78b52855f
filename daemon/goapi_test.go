package daemon

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// TestGoAPI: the logic behind /doctor, /images and /tokens is callable in
// process, without HTTP, with the answers the routes encode.
func TestGoAPI(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	ctx := context.Background()

	rep, err := d.Doctor(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
	}
	if want := []string{"engine", "credential", "ca", "network", "image", "user", "claude", "proxy", "ui"}; !slices.Equal(names, want) {
		t.Errorf("doctor's checks are %v, want %v", names, want)
	}
	// The stub engine answers but has no image: the report fails there,
	// with the default image named and a fix.
	i := slices.Index(names, "image")
	if rep.OK || i < 0 || rep.Checks[i].OK || !strings.Contains(rep.Checks[i].Detail, api.DefaultImage+" is not present") || rep.Checks[i].Fix == "" {
		t.Errorf("doctor without the image: %+v, want it to fail at the image with a fix", rep)
	}
	if c := rep.Checks[0]; !c.OK {
		t.Errorf("engine check %+v, want ok against the stub engine", c)
	}
	if c := rep.Checks[1]; !c.OK || !strings.Contains(c.Detail, "environment") || strings.Contains(c.Detail, "CANARY") {
		t.Errorf("credential check %+v, want the environment's credential found, not shown", c)
	}

	if _, err := d.Doctor(ctx, "Not A Ref"); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("doctor of an invalid image: %v, want ErrInvalid", err)
	}
	if err := d.PullImage(ctx, "Not A Ref", nil); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("pull of an invalid image: %v, want ErrInvalid", err)
	}
	if err := d.BuildImage(ctx, api.BuildImage{Tag: "Not A Ref"}, nil); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("build with an invalid tag: %v, want ErrInvalid", err)
	}
	// A fixed credential source: the token methods refuse, as the routes do.
	if _, err := d.TokenStatus(ctx, "anthropic"); !errors.Is(err, errFixedSource) {
		t.Errorf("TokenStatus on a fixed source: %v, want errFixedSource", err)
	}
	if _, err := d.SetToken(ctx, "anthropic", "sk-ant-oat01-CANARY-goapi"); !errors.Is(err, errFixedSource) {
		t.Errorf("SetToken on a fixed source: %v, want errFixedSource", err)
	}
}

// TestDoctorUI: doctor's ui line says where the web UI listens, that
// config.json turned it off, or why it cannot listen, with the fix.
func TestDoctorUI(t *testing.T) {
	d := startDaemon(t, t.TempDir()) // ui.port -1
	if c := d.uiCheck(); !c.OK || !strings.Contains(c.Detail, "off") {
		t.Errorf("UI off: %+v", c)
	}
	home := t.TempDir()
	cfg := testConfig(t, home)
	cfg.UIPort = AnyUIPort
	d = startDaemonWith(t, cfg)
	if c := d.uiCheck(); !c.OK || !strings.Contains(c.Detail, "http://127.0.0.1:") || !strings.Contains(c.Detail, "clauderon ui") {
		t.Errorf("UI on: %+v", c)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg = testConfig(t, t.TempDir())
	cfg.UIPort = l.Addr().(*net.TCPAddr).Port
	d = startDaemonWith(t, cfg)
	if c := d.uiCheck(); c.OK || !strings.Contains(c.Detail, "cannot listen") || !strings.Contains(c.Fix, "ui.port") {
		t.Errorf("UI that cannot listen: %+v", c)
	}
}
