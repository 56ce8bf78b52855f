package termsafe

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// render is what a TextWriter makes of in, written in one piece.
func render(in string) string {
	var b bytes.Buffer
	w := NewTextWriter(&b)
	_, _ = w.Write([]byte(in))
	_ = w.Close()
	return b.String()
}

// renderBytewise is render with in written a byte at a time.
func renderBytewise(in string) string {
	var b bytes.Buffer
	w := NewTextWriter(&b)
	for i := range len(in) {
		_, _ = w.Write([]byte{in[i]})
	}
	_ = w.Close()
	return b.String()
}

func TestTextWriter(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "hello\nworld\n", "hello\nworld\n"},
		{"ends the last line", "hello", "hello\n"},
		{"queries", "a\x1b[c\x1b[>0q\x1b[6n\x1b[>c\x1b]11;?\x07\x1b]10;?\x1b\\\x1bP$qm\x1b\\\x1b[?2026$pb", "ab\n"},
		{"clipboard, title, clear", "x\x1b]52;c;aGk=\x07y\x1b]0;pwned\x1b\\z\x1b[2J\x1b[3J\x1b[H", "xyz\n"},
		{"modes and colours", "\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[1;38;5;174mred\x1b[0m\x1b[?1000h", "red\n"},
		{"carriage return and line feed", "a\r\nb\r\r\nc", "a\nb\nc\n"},
		{"one blank line at most", "a\r\r\n\r\r\n\r\r\n\r\r\nb\n\n\n", "a\n\nb\n\n"},
		{"no blank lines first", "\r\n\r\n\x1b[Hfirst", "first\n"},
		{"overwritten, not hidden", "abc\rdef", "abc\ndef\n"},
		{"a move to another line keeps the column", "top\x1b[3Abottom\x1b[1Bnext\x1b[5;3Hat\x1b[2Fstart", "top\n   bottom\n         next\n  at\nstart\n"},
		{"columns become spaces", "\x1b[3GHello from the\x1b[18Gfake\x1b[23GAnthropic", "  Hello from the fake Anthropic\n"},
		{"cursor forward", "a\x1b[3Cb\x1b[Cc", "a   b c\n"},
		{"no trailing blanks", "say hello          \r\r\nnext", "say hello\nnext\n"},
		{"after a carriage return, columns count from 0", "long line\r\x1b[2Cx", "long line\n  x\n"},
		{"invisible and invalid", "a\u202eb\u200bc\u0080d\xffe\x9b2Jf", `a\u202eb\u200bc` + `d\xffe\x9b2Jf` + "\n"},
		{"C1 controls are sequences", "a\u009b31mb\u009d52;c;aGk=\u009cc\u009d0;pwned\x07d\u0090$qm\u009ce\u009b2Jf\u009b3Cg", "abcde\n     f   g\n"},
		{"C1 ST and ESC end a string", "\x1b]0;t\u009cx\u009d0;t\x1b\\y\u009f...\u009b31mz", "xyz\n"},
		{"bell dropped, backspace overwrites", "a\x07b\bc", "ab\n c\n"},
		{"tab kept", "a\tb", "a\tb\n"},
		{"sixel and APC dropped", "x\x1bPq#0;2;0;0;0#0~~-\x1b\\\x1b_Gf=100;AAAA\x1b\\y", "xy\n"},
		{"ESC ends a string", "\x1b]0;title\x1b[31mred", "red\n"},
		{"CAN cancels a sequence", "\x1b[12\x18x", "x\n"},
		{"C1-looking bytes of runes stay", "é ✻ ─ \u00a0x", "é ✻ ─ \u00a0x\n"},
		{"unfinished sequence at the end", "a\x1b[38;5", "a\n"},
		{"unfinished rune at the end", "a\xe2\x94", `a\xe2\x94` + "\n"},
		{"reset", "a\x1bcb", "a\nb\n"},
		{"huge column", "a\x1b[99999Gb", "a" + strings.Repeat(" ", maxPad) + "b\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(tt.in); got != tt.want {
				t.Errorf("render(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := renderBytewise(tt.in); got != tt.want {
				t.Errorf("render(%q) a byte at a time = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A TUI's real output (Claude Code's first screen, shortened) reads as its
// text.
func TestTextWriterTUI(t *testing.T) {
	in := "\x1b7\x1b[r\x1b8\x1b[?25h\x1b[?25l\x1b[?2004h\x1b[?1004h\x1b[?2031h\x1b]0;\u2733 Claude Code\x07" +
		"\x1b[38;5;174m \u2590\x1b[48;5;16m\u259b\u2588\u2588\u2588\u259c\x1b[49m\u258c\x1b[12G\x1b[39m\x1b[1mClaude\x1b[19GCode\x1b[24G\x1b[22m\x1b[38;5;246mv2.1.197\x1b[39m\r\r\n" +
		"\r\r\n\x1b[38;5;244m\u2500\u2500\u2500\u2500\x1b[39m\r\r\n\u276f\u00a0\x1b[7m \x1b[27m\r\r\n" +
		"\x1b[2C\x1b[3A\x1b]0;\u2802 Claude Code\x07\x1b[2D\x1b[3B\r\x1b[4A\x1b[48;5;237m\x1b[38;5;239m\u276f \x1b[38;5;231msay hello\x1b[39m     \r\x1b[1B\x1b[49m\x1b[K" +
		"\x1b[>0q\x1b[c\x1b[2D\x1b[3B\r\x1b[6A\x1b[38;5;231m\u25cf\x1b[3G\x1b[39mHello from the\x1b[18Gfake\x1b[23GAnthropic\x1b[33Gupstream.\r\x1b[2B"
	want := " \u2590\u259b\u2588\u2588\u2588\u259c\u258c   Claude Code v2.1.197\n\n\u2500\u2500\u2500\u2500\n\u276f\u00a0\n\u276f say hello\n\u25cf Hello from the fake Anthropic upstream.\n"
	if got := render(in); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if got := renderBytewise(in); got != want {
		t.Errorf("a byte at a time: got\n%q\nwant\n%q", got, want)
	}
}

// Whatever the output, nothing that drives a terminal comes out, and
// writing it in pieces changes nothing.
func TestTextWriterNeverPassesControls(t *testing.T) {
	alphabet := []string{"\x1b", "[", "]", "P", "_", "^", "X", "?", ">", "=", "<", ";", "0", "1", "2", "9", "h", "l", "m", "c", "n",
		"J", "H", "G", "C", "A", "q", " ", "$", "\\", "\x07", "\x18", "\r", "\n", "\t", "\b", "\x00", "\x7f", "\x9b", "\xc2", "\x9b",
		"\xe2", "\x80", "\xae", "\u202e", "\u200b", "é", "x", "\u2028"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var in strings.Builder
		for range r.IntN(60) {
			in.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := in.String()
		out := render(s)
		checkInert(t, s, out)
		// In random pieces.
		var b bytes.Buffer
		w := NewTextWriter(&b)
		for rest := s; rest != ""; {
			n := min(1+r.IntN(7), len(rest))
			_, _ = w.Write([]byte(rest[:n]))
			rest = rest[n:]
		}
		_ = w.Close()
		if b.String() != out {
			t.Fatalf("render(%q): in pieces %q, whole %q", s, b.String(), out)
		}
	}
}

func checkInert(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("render(%q) = %q: invalid UTF-8", in, out)
	}
	for _, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) || needsEscape(r) && r != '\n' && r != '\t' {
			t.Fatalf("render(%q) = %q: holds %U", in, out, r)
		}
	}
}

func FuzzTextWriter(f *testing.F) {
	for _, s := range []string{"\x1b[c", "\x1b]52;c;aGk=\x07", "a\rb", "\x1bP$qm\x1b\\", "\xe2\x94\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := render(s)
		checkInert(t, s, out)
		if b := renderBytewise(s); b != out {
			t.Fatalf("render(%q): a byte at a time %q, whole %q", s, b, out)
		}
	})
}
