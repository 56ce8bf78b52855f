package cli

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/termsafe"
)

func TestCopyDetach(t *testing.T) {
	tests := []struct {
		name, in, want string
		detached       bool
	}{
		{"plain", "hello", "hello", false},
		{"detach", "ab\x10\x11cd", "ab", true},
		{"lone ctrl-p passes", "a\x10b", "a\x10b", false},
		{"double ctrl-p then q", "\x10\x10\x11", "\x10", true},
		{"ctrl-q alone passes", "\x11x", "\x11x", false},
		{"ctrl-p at EOF is dropped", "a\x10", "a", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			got := copyDetach(&out, strings.NewReader(tc.in))
			if got != tc.detached || out.String() != tc.want {
				t.Errorf("copyDetach(%q) = %v, wrote %q; want %v, %q", tc.in, got, out.String(), tc.detached, tc.want)
			}
		})
	}
}

// redraw changes the size by a column, waits for the program to draw, and
// gives back the size the terminal has then.
func TestRedraw(t *testing.T) {
	type size struct{ rows, cols uint }
	for _, tt := range []struct {
		name       string
		cols       uint
		draws      bool
		now        size
		want       []size
		atLeast    time.Duration
		terminalOK bool
	}{
		{"draws", 120, true, size{40, 120}, []size{{40, 119}, {40, 120}}, 20 * time.Millisecond, true},
		{"one column", 1, true, size{40, 1}, []size{{40, 2}, {40, 1}}, 0, true},
		{"resized meanwhile", 120, true, size{50, 100}, []size{{40, 119}, {50, 100}}, 0, true},
		{"draws nothing", 120, false, size{40, 120}, []size{{40, 119}, {40, 120}}, redrawWaitTest, true},
		{"size unknown", 120, true, size{}, []size{{40, 119}, {40, 120}}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old := redrawWait
			redrawWait = redrawWaitTest
			defer func() { redrawWait = old }()
			wrote := make(chan struct{}, 1)
			wrote <- struct{}{} // output from before: not the redraw
			var got []size
			resize := func(r, c uint) {
				got = append(got, size{r, c})
				if tt.draws && len(got) == 1 {
					wrote <- struct{}{}
				}
			}
			start := time.Now()
			redraw(context.Background(), wrote, nil, resize, 40, tt.cols, func() (uint, uint, bool) {
				return tt.now.rows, tt.now.cols, tt.terminalOK
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("resized to %v, want %v", got, tt.want)
			}
			if d := time.Since(start); d < tt.atLeast {
				t.Errorf("gave the size back after %v, before %v", d, tt.atLeast)
			}
		})
	}
}

const redrawWaitTest = 200 * time.Millisecond

// watchedWriter passes the session's output through untouched, follows
// what it does to the terminal and signals each write.
func TestWatchedWriter(t *testing.T) {
	var out bytes.Buffer
	modes := termsafe.NewModes()
	w := &watchedWriter{w: &out, modes: modes, wrote: make(chan struct{}, 1)}
	if _, err := w.Write([]byte("\x1b[?2004h\x1b[?1049hscreen\x1b[38;5")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.wrote:
	default:
		t.Error("a write was not signalled")
	}
	if out.String() != "\x1b[?2004h\x1b[?1049hscreen\x1b[38;5" {
		t.Errorf("the terminal got %q", out.String())
	}
	r := string(modes.Restore())
	if !strings.HasPrefix(r, "\x18") || !strings.Contains(r, "\x1b[?2004l") || !strings.Contains(r, "\x1b[?1049l") {
		t.Errorf("Restore() = %q", r)
	}
}
