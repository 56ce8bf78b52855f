package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/secret"
)

func check(t *testing.T, rep api.Doctor, name string) api.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, rep)
	return api.Check{}
}

// TestDoctorImageFix: the fix for a missing image fits that image: the
// agent image is built, another is pulled (or built under its name).
func TestDoctorImageFix(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	tests := []struct {
		image      string
		want, deny []string
	}{
		{api.DefaultImage, []string{"`clauderon image build`", "--base-image"}, []string{"pull"}},
		{"example.com/team/agent:2", []string{"`clauderon image pull example.com/team/agent:2`", "`docker pull example.com/team/agent:2`", "`clauderon image build --tag example.com/team/agent:2`"},
			[]string{"`clauderon image build`"}},
	}
	for _, tt := range tests {
		rep, err := d.Doctor(context.Background(), tt.image)
		if err != nil {
			t.Fatal(err)
		}
		c := check(t, rep, "image")
		if c.OK {
			t.Fatalf("image check ok for a missing %s", tt.image)
		}
		for _, w := range tt.want {
			if !strings.Contains(c.Fix, w) {
				t.Errorf("fix for %s is %q, lacks %q", tt.image, c.Fix, w)
			}
		}
		for _, w := range tt.deny {
			if strings.Contains(c.Fix, w) {
				t.Errorf("fix for %s is %q, has %q", tt.image, c.Fix, w)
			}
		}
	}
}

// downEngine is an engine that does not answer.
type downEngine struct{ stubEngine }

func (downEngine) Ping(context.Context) error { return errors.New("cannot reach the Docker engine") }

// TestDoctorEngineDown: the fix for a down engine says what the daemon
// does: it picks the engine up by itself, no restart.
func TestDoctorEngineDown(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Backend = downEngine{}
	d := startDaemonWith(t, cfg)
	rep, err := d.Doctor(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := check(t, rep, "engine")
	if c.OK || !strings.Contains(c.Fix, "start Docker") || !strings.Contains(c.Fix, "by itself") || strings.Contains(c.Fix, "then restart") {
		t.Errorf("engine check %+v: want start Docker, picked up by itself, no restart", c)
	}
}

// TestDoctorWithoutDaemon: with no daemon, the report says so with how to
// start one, runs what it can, and marks ok nothing it did not check.
func TestDoctorWithoutDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	home := t.TempDir()
	store := &secret.Store{Env: secret.Env{Getenv: func(string) string { return "" }, Holder: secret.HolderShell},
		Keychain: &secret.Keychain{Service: "clauderon-test-doctor-nodaemon", Holder: secret.HolderShell}}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	rep, err := DoctorWithoutDaemon(context.Background(), home, home+"/clauderon.sock", "", store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Error("report ok without a daemon")
	}
	d := check(t, rep, "daemon")
	if d.OK || !strings.Contains(d.Detail, home+"/clauderon.sock") || !strings.Contains(d.Fix, "clauderon daemon") {
		t.Errorf("daemon check %+v", d)
	}
	if c := check(t, rep, "engine"); c.OK || strings.Contains(c.Fix, "by itself") {
		t.Errorf("engine check %+v: want a failure, and no daemon to pick it up", c)
	}
	if c := check(t, rep, "credential"); c.OK || !strings.Contains(c.Detail, "OS keychain unavailable") || strings.Contains(c.Detail, "to fix") || !strings.Contains(c.Fix, "this shell's environment") {
		t.Errorf("credential check %+v: want the cause in the detail and the remedies in the fix", c)
	}
	if c := check(t, rep, "ca"); !c.OK || !strings.Contains(c.Detail, "creates it") {
		t.Errorf("ca check %+v", c)
	}
	for _, n := range []string{"image", "network", "user", "claude", "proxy"} {
		if c := check(t, rep, n); c.OK || !strings.Contains(c.Detail, "not checked") {
			t.Errorf("%s check %+v: want not checked, not ok", n, c)
		}
	}
}
