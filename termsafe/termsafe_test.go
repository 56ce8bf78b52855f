package termsafe

import "testing"

func TestVisible(t *testing.T) {
	for _, tt := range []struct{ in, want, line string }{
		{"plain", "plain", "plain"},
		{"tab\tand\nnewline", "tab\tand\nnewline", `tab\tand\nnewline`},
		{"esc\x1b[2J", `esc\x1b[2J`, `esc\x1b[2J`},
		{"del\x7f", `del\x7f`, `del\x7f`},
		{"c1\u009b", `c1\u009b`, `c1\u009b`},
		{"bidi\u202ezw\u200b", `bidi\u202ezw\u200b`, `bidi\u202ezw\u200b`},
		{"sep\u2028", `sep\u2028`, `sep\u2028`},
		{"bad\xff", `bad\xff`, `bad\xff`},
		{"real \uFFFD", "real \uFFFD", "real \uFFFD"},
	} {
		if got := Visible(tt.in); got != tt.want {
			t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Line(tt.in); got != tt.line {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
		}
	}
}
