package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

// offlineEngine fails a build at a step, as an engine without a registry
// or mirror does.
type offlineEngine struct {
	stubEngine
	steps []string // progress before the failure
	err   error
}

func (e offlineEngine) BuildImage(_ context.Context, _, _, tag string, progress func(string)) error {
	for _, s := range e.steps {
		progress(s)
	}
	return fmt.Errorf("build %s: %w", tag, e.err)
}

// TestBuildOffline: a build that cannot download gives one error, saying
// what it could not get and the flag that does without it.
func TestBuildOffline(t *testing.T) {
	noHost := errors.New(`Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host`)
	tests := []struct {
		name       string
		b          api.BuildImage
		steps      []string
		want, deny []string
	}{
		{"default base", api.BuildImage{}, []string{"Step 1/11 : ARG BASE_IMAGE=debian:bookworm-slim", "Step 2/11 : FROM ${BASE_IMAGE}"},
			[]string{"cannot get the base image debian:bookworm-slim", "no such host", "--base-image", "--claude-binary"}, []string{"build clauderon-agent:latest:"}},
		{"named base", api.BuildImage{BaseImage: "mine:1"}, []string{"Step 2/11 : FROM ${BASE_IMAGE}"},
			[]string{"cannot get the base image mine:1", "docker images"}, nil},
		{"apt", api.BuildImage{}, []string{"Step 2/11 : FROM ${BASE_IMAGE}", "Step 4/11 : RUN export DEBIAN_FRONTEND=noninteractive  && apt-get update"},
			[]string{"installing packages", "--base-image"}, nil},
		{"npm", api.BuildImage{}, []string{"Step 6/11 : RUN set -eu;     reg=https://registry.npmjs.org/@anthropic-ai;"},
			[]string{"downloading Claude Code", "--claude-binary"}, nil},
		{"another step", api.BuildImage{}, []string{"Step 7/11 : RUN useradd"}, []string{"no such host"}, []string{"--base-image", "--claude-binary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			cfg.Backend = offlineEngine{steps: tt.steps, err: noHost}
			d := startDaemonWith(t, cfg)
			err := d.BuildImage(context.Background(), tt.b, nil)
			if !errors.Is(err, noHost) {
				t.Fatalf("BuildImage = %v, want the engine's error kept", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range tt.deny {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q has %q", err, w)
				}
			}
		})
	}
}
