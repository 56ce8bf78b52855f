package session

import (
	"errors"
	"strings"
	"testing"
)

// TestPromptText: a prompt must be UTF-8 text; an escape sequence that would
// reach the terminals listing it is refused, and the error names where
// without echoing the prompt.
func TestPromptText(t *testing.T) {
	tests := []struct {
		name, prompt string
		want         string // substring of the error; "" for accepted
	}{
		{"plain", "fix the tests", ""},
		{"tab and newlines", "one\ttwo\r\nthree\n", ""},
		{"unicode", "résumé ✓ 日本語 \uFFFD", ""},
		{"OSC title and clear screen", "hi\x1b]0;PWNED\a\x1b[2J", "control character U+001B at byte 2"},
		{"bell", "a\ab", "U+0007 at byte 1"},
		{"DEL", "a\x7f", "U+007F at byte 1"},
		{"C1 CSI", "ab\u009b2J", "U+009B at byte 2"},
		{"NUL", "a\x00b", "NUL byte (at byte 1)"},
		{"invalid UTF-8", "ok\xff\x1b]0;x\a", "not valid UTF-8 (at byte 2)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := normalize(Options{Name: "a", Prompt: tc.prompt}, newMountGuard("/nonexistent/clauderon-home", "", nil))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("normalize(%q) = %v; want it accepted", tc.prompt, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("normalize(%q) = %v; want ErrInvalid containing %q", tc.prompt, err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\a\x7f\u009b") || strings.Contains(err.Error(), "PWNED") {
				t.Errorf("error %q echoes the prompt", err)
			}
		})
	}
}

// TestImageText: an image reference has the characters of one, so it cannot
// carry escapes to `list` either; doctor and image build check the same.
func TestImageText(t *testing.T) {
	g := newMountGuard("/nonexistent/clauderon-home", "", nil)
	for _, img := range []string{"a b", "x\x1b]0;PWNED\a", "x\u009b", "x\ty", "--privileged", "imagé", "a!b"} {
		if _, err := normalize(Options{Name: "a", Image: img}, g); !errors.Is(err, ErrInvalid) {
			t.Errorf("image %q: %v, want ErrInvalid", img, err)
		}
	}
	for _, img := range []string{"ghcr.io/org/img:1.2@sha256:abc", "localhost:5000/my_img"} {
		if _, err := normalize(Options{Name: "a", Image: img}, g); err != nil {
			t.Errorf("valid image %q refused: %v", img, err)
		}
	}
}

// TestLimits: a session's limits are what it asked for, else config.json's,
// else the defaults; nonsense is refused.
func TestLimits(t *testing.T) {
	d := DefaultLimits()
	c := ContainerConfig{Limits: Limits{MemoryBytes: 1 << 30}}
	if got := c.limitsFor(Options{}); got != (Limits{CPUs: d.CPUs, MemoryBytes: 1 << 30, Pids: d.Pids}) {
		t.Errorf("limits with config.json's memory = %+v", got)
	}
	if got := c.limitsFor(Options{CPUs: 0.5, MemoryBytes: 2 << 30}); got != (Limits{CPUs: 0.5, MemoryBytes: 2 << 30, Pids: d.Pids}) {
		t.Errorf("limits asked for = %+v", got)
	}
	for _, o := range []Options{{CPUs: -1}, {CPUs: 0.001}, {CPUs: 1e6}, {MemoryBytes: 1 << 20}} {
		if err := checkLimits(o); err == nil {
			t.Errorf("checkLimits(%+v) accepted", o)
		}
	}
	if err := checkLimits(Options{CPUs: 1, MemoryBytes: 1 << 30}); err != nil {
		t.Error(err)
	}
	for l, want := range map[Limits]string{{Pids: 1}: "container.pids", {CPUs: -1}: "container.cpus", {MemoryBytes: 1}: "container.memory_bytes"} {
		if err := CheckLimits(l); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckLimits(%+v) = %v, want an error naming %s", l, err, want)
		}
	}
}
