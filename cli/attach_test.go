package cli

import (
	"bytes"
	"strings"
	"testing"
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
