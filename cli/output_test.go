package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestOneLine: a prompt is shown on one line, shortened, and cannot carry
// terminal escapes (OSC, CSI, C1) to the screen.
func TestOneLine(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"plain", "fix the tests", 40, "fix the tests"},
		{"whitespace folded", "a\n\tb\r\n  c", 40, "a b c"},
		{"shortened", "abcdefghij", 5, "abcd…"},
		{"OSC title and clear screen", "hi\x1b]0;PWNED\a\x1b[2J", 40, "hi?]0;PWNED??[2J"},
		{"C1 CSI", "a\u009b2Jb", 40, "a?2Jb"},
		{"DEL", "a\x7fb", 40, "a?b"},
		{"invalid UTF-8", "a\xff\xfeb", 40, "a?b"},
		{"bidi override and zero-width", "a\u202eb\u200bc", 40, "a?b?c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := oneLine(tc.in, tc.n); got != tc.want {
				t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

// TestVisible: what a container wrote (file names, diff lines) reaches the
// terminal with no control sequence, invisible formatting character or
// line break that it did not show as text.
func TestVisible(t *testing.T) {
	tests := []struct{ name, in, want, wantPath string }{
		{"plain", "a/b.go", "a/b.go", "a/b.go"},
		{"osc 52 and a title", "x\x1b]52;c;aGk=\a\x1b]0;pwn\a", `x\x1b]52;c;aGk=\x07\x1b]0;pwn\x07`, `x\x1b]52;c;aGk=\x07\x1b]0;pwn\x07`},
		{"screen clear", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"c1 csi", "a\u009b2Jb", `a\u009b2Jb`, `a\u009b2Jb`},
		{"bidi override", "evil\u202etxt.sh", `evil\u202etxt.sh`, `evil\u202etxt.sh`},
		{"zero width", "a\u200bb", `a\u200bb`, `a\u200bb`},
		{"newline and tab", "a\nb\tc", "a\nb\tc", `a\nb\tc`},
		{"carriage return", "ok\rFAKE", `ok\x0dFAKE`, `ok\x0dFAKE`},
		{"invalid utf-8", "a\xffb", `a\xffb`, `a\xffb`},
		{"unicode text stays", "héllo 世界", "héllo 世界", "héllo 世界"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := visible(tt.in); got != tt.want {
				t.Errorf("visible(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := visiblePath(tt.in); got != tt.wantPath {
				t.Errorf("visiblePath(%q) = %q, want %q", tt.in, got, tt.wantPath)
			}
		})
	}
}

// TestPrintError: an error holding a name the agent wrote reaches the
// terminal with its escape sequences shown, not sent.
func TestPrintError(t *testing.T) {
	var b strings.Builder
	printError(&b, errors.New("the workspace's HEAD \x1b]52;c;aGk=\a cannot be read"))
	if got := b.String(); strings.ContainsAny(got, "\x1b\a") || !strings.Contains(got, `\x1b]52`) {
		t.Errorf("printError wrote %q", got)
	}
}

// TestPrintEscapesWhatContainersWrote: a host a container asked for (a
// denial) reaches the terminal with no C1 control or bidirectional
// override, in text and in JSON, and the JSON still means the same.
func TestPrintEscapesWhatContainersWrote(t *testing.T) {
	hostile := "a\u202eb\u009d8;;x\u009c\u200b.example"
	rep := session.EgressReport{Session: "s", Mode: "locked", Allow: []string{"c\u202ed"}, Denials: []session.Denial{{Host: hostile, Count: 2}}}
	for _, asJSON := range []bool{false, true} {
		var b bytes.Buffer
		if err := printEgress(&b, rep, asJSON); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.ContainsFunc(out, func(r rune) bool { return (r >= 0x80 && r <= 0x9f) || r == 0x202e || r == 0x200b }) {
			t.Errorf("json=%v: raw invisible characters in %q", asJSON, out)
		}
		if asJSON {
			var back session.EgressReport
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Denials[0].Host != hostile {
				t.Errorf("the escaped JSON reads back as %+v, %v", back, err)
			}
		}
	}
}
