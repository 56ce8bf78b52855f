package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		want    []string
		wantErr bool
	}{
		{"defaults", Options{}, []string{"ARG BASE_IMAGE=debian:bookworm-slim\n", "ARG CLAUDE_CODE_VERSION=latest\n"}, false},
		{"overrides", Options{BaseImage: "clauderon-test-base:bookworm", ClaudeVersion: "2.1.197"},
			[]string{"ARG BASE_IMAGE=clauderon-test-base:bookworm\n", "ARG CLAUDE_CODE_VERSION=2.1.197\n"}, false},
		{"newline injection", Options{BaseImage: "debian\nRUN evil"}, nil, true},
		{"space", Options{ClaudeVersion: "1 2"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dockerfile(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if strings.Count(string(got), w) != 1 {
					t.Errorf("Dockerfile lacks %q once", w)
				}
			}
		})
	}
}

func TestWriteContext(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "claude-real")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "claude")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteContext(dir, Options{ClaudeBinary: link}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "local", "claude"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		t.Errorf("local/claude = %v, %v; want an executable regular file (the link resolved)", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		t.Error(err)
	}

	empty := t.TempDir()
	if err := WriteContext(empty, Options{}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(empty, "local")); len(entries) != 0 {
		t.Errorf("local/ without a binary holds %v", entries)
	}
	notExec := filepath.Join(t.TempDir(), "claude")
	os.WriteFile(notExec, nil, 0o644)
	if err := WriteContext(t.TempDir(), Options{ClaudeBinary: notExec}); err == nil {
		t.Error("WriteContext accepted a non-executable binary")
	}
}
