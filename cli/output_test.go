package cli

import "testing"

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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := oneLine(tc.in, tc.n); got != tc.want {
				t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
