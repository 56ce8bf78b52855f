package termsafe

import (
	"fmt"
	"strings"
	"testing"
)

func restoreAfter(parts ...string) string {
	m := NewModes()
	for _, p := range parts {
		_, _ = m.Write([]byte(p))
	}
	return string(m.Restore())
}

// base is what every Restore holds, whatever the output was.
var base = []string{"\x1b[0m", "\x1b[?1l", "\x1b[?1000l", "\x1b[?1002l", "\x1b[?1003l", "\x1b[?1006l", "\x1b[?1004l",
	"\x1b[?2004l", "\x1b[?2026l", "\x1b>", "\x1b[?25h"}

func TestModesRestoreAlways(t *testing.T) {
	got := restoreAfter("plain text")
	for _, w := range base {
		if !strings.Contains(got, w) {
			t.Errorf("Restore() = %q lacks %q", got, w)
		}
	}
	// Nothing it did not see: leaving a screen the output never entered
	// would move the cursor, and popping a title nobody pushed would take
	// someone else's.
	for _, no := range []string{"\x1b[?1049l", "\x1b[?47l", "\x1b[r", "\x1b[23;0t", "\x1b[<", "\x1b[>4m", "\x1b[0 q", "\x18"} {
		if strings.Contains(got, no) {
			t.Errorf("Restore() = %q holds %q", got, no)
		}
	}
	if !strings.HasSuffix(got, "\x1b[?25h") {
		t.Errorf("Restore() = %q: the cursor is not shown last", got)
	}
}

func TestModesRestoreWhatWasSet(t *testing.T) {
	out := PushTitle + "\x1b[?1049h\x1b[?1000;1006h\x1b[>1u\x1b[>4;2m\x1b[5 q\x1b[1;20r\x1b[?7l\x1b[?2031h\x1b]0;pwned\x07\x1b="
	// Whole, and a byte at a time.
	var pieces []string
	for i := range len(out) {
		pieces = append(pieces, out[i:i+1])
	}
	for _, got := range []string{restoreAfter(out), restoreAfter(pieces...)} {
		for _, w := range append([]string{"\x1b[?7h", "\x1b[?2031l", "\x1b[<1u", "\x1b[>4m", "\x1b[0 q", "\x1b[r\x1b[?1049l", "\x1b[23;0t"}, base...) {
			if !strings.Contains(got, w) {
				t.Errorf("Restore() = %q lacks %q", got, w)
			}
		}
		if strings.Contains(got, "\x1b7") {
			t.Errorf("Restore() = %q saves the cursor, which leaving the alternate screen restores", got)
		}
		if strings.Index(got, "\x1b[?1049l") > strings.Index(got, "\x1b[?25h") {
			t.Errorf("Restore() = %q shows the cursor before leaving the alternate screen", got)
		}
	}
}

func TestModesTracksUndoing(t *testing.T) {
	got := restoreAfter("\x1b[?1049h", "\x1b[?1049l", "\x1b[>1u\x1b[>1u\x1b[<u", PushTitle, "\x1b[23;0t", "\x1b[5;10r")
	if strings.Contains(got, "1049l") || !strings.Contains(got, "\x1b[<1u") || strings.Contains(got, "\x1b[23;0t") {
		t.Errorf("Restore() = %q", got)
	}
	// Margins on the main screen: reset without moving the cursor.
	if !strings.Contains(got, "\x1b7\x1b[r\x1b8") {
		t.Errorf("Restore() = %q does not reset the margins in place", got)
	}
	// A full reset (RIS) leaves nothing to undo.
	if got := restoreAfter("\x1b[?1049h\x1b[>1u\x1bc"); strings.Contains(got, "1049l") || strings.Contains(got, "\x1b[<") {
		t.Errorf("Restore() after RIS = %q", got)
	}
}

func TestModesCancelsUnfinishedSequence(t *testing.T) {
	for _, cut := range []string{"\x1b", "\x1b[38;5", "\x1b]0;tit", "\x1bP$q"} {
		if got := restoreAfter("text" + cut); !strings.HasPrefix(got, "\x18") {
			t.Errorf("after %q, Restore() = %q does not start with CAN", cut, got)
		}
	}
}

// Restore only ever turns off, or back on what is on by default.
func TestModesRestoreSetsNothingElse(t *testing.T) {
	var p Parser
	p.Feed(restoreAll(), func(tok *Token) {
		if tok.Kind == CSI && tok.Prefix == '?' && tok.Final == 'h' {
			for i := range tok.NumParams() {
				if n := tok.Param(i, 0); !privateDefault[n] {
					t.Errorf("Restore sets mode %d", n)
				}
			}
		}
	})
}

// restoreAll is the Restore of an output that set every mode it knows.
func restoreAll() []byte {
	m := NewModes()
	for n, def := range privateDefault {
		_, _ = m.Write([]byte(decMode(n, !def)))
	}
	return m.Restore()
}

func TestParam(t *testing.T) {
	for _, tt := range []struct {
		params  string
		i, def  int
		want, n int
	}{
		{"1;20", 0, 1, 1, 2},
		{"1;20", 1, 1, 20, 2},
		{"1;20", 2, 5, 5, 2},
		{"", 0, 1, 1, 0},
		{"0", 0, 1, 1, 1},
		{"0", 0, 0, 0, 1},
		{"38:2:1;4", 0, 0, 38, 2},
		{"38:2:1;4", 1, 0, 4, 2},
		{";7", 0, 1, 1, 2},
		{";7", 1, 1, 7, 2},
	} {
		tok := Token{Kind: CSI, Params: []byte(tt.params)}
		if got := tok.Param(tt.i, tt.def); got != tt.want {
			t.Errorf("Param(%q, %d, %d) = %d, want %d", tt.params, tt.i, tt.def, got, tt.want)
		}
		if got := tok.NumParams(); got != tt.n {
			t.Errorf("NumParams(%q) = %d, want %d", tt.params, got, tt.n)
		}
	}
}

func TestParserTokens(t *testing.T) {
	in := "ab\x1b[?25;1049h\x1b]0;t\x07\x1b(B\r\x1bPq\x1b\\é"
	var got []string
	var p Parser
	for i := range len(in) { // split everywhere
		p.Feed([]byte(in[i:i+1]), func(tok *Token) {
			switch tok.Kind {
			case Text:
				got = append(got, "text "+string(tok.Text))
			case Control:
				got = append(got, "ctl "+string(tok.Text))
			case CSI:
				got = append(got, "csi "+string(tok.Prefix)+string(tok.Params)+string(tok.Inter)+string(tok.Final))
			case Esc:
				got = append(got, "esc "+string(tok.Inter)+string(tok.Final))
			case OSC:
				got = append(got, "osc "+string(tok.Data))
			case DCS:
				got = append(got, "dcs "+string(tok.Data))
			}
		})
	}
	want := []string{"text a", "text b", "csi ?25;1049h", "osc 0;t", "esc (B", "ctl \r", "dcs q", "text é"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("tokens %q, want %q", got, want)
	}
	if p.InSequence() {
		t.Error("InSequence after a whole output")
	}
}

// UTF-8 C1 controls are what their 7-bit forms are to a terminal.
func TestModesC1Controls(t *testing.T) {
	out := "\xc2\x9b?1049h\xc2\x9b?7l\xc2\x9d11;#000000\xc2\x9c\xc2\x9b?1000h\x1b]0;x\xc2\x9d12;red\x07\xc2\x9b22t"
	var pieces []string
	for i := range len(out) {
		pieces = append(pieces, out[i:i+1])
	}
	for _, got := range []string{restoreAfter(out), restoreAfter(pieces...)} {
		for _, w := range []string{"\x1b[?1049l", "\x1b[?7h", "\x1b[?1000l", "\x1b]111\x1b\\", "\x1b]112\x1b\\", "\x1b[23;0t"} {
			if !strings.Contains(got, w) {
				t.Errorf("Restore() = %q lacks %q", got, w)
			}
		}
		if strings.HasPrefix(got, "\x18") {
			t.Errorf("Restore() = %q: the output ended inside a sequence", got)
		}
	}
	// An unfinished C1 CSI is cancelled; a rune that only looks like one
	// (U+00A0's first byte is 0xc2 too) is text.
	if got := restoreAfter("\xc2\x9b?10"); !strings.HasPrefix(got, "\x18") {
		t.Errorf("Restore() = %q does not cancel a C1 CSI", got)
	}
	if got := restoreAfter("\u00a0\xc2"); strings.HasPrefix(got, "\x18") {
		t.Errorf("Restore() = %q after text", got)
	}
}

func TestModesRestoresCharsetsInsertAndColours(t *testing.T) {
	got := restoreAfter("\x1b(0\x0e\x1b[4h\x1b[20h")
	for _, w := range []string{"\x0f\x1b(B", "\x1b[4l", "\x1b[20l"} {
		if !strings.Contains(got, w) {
			t.Errorf("Restore() = %q lacks %q", got, w)
		}
	}
	// The colours only when the output set them: resetting them otherwise
	// would take the user's own (set by their shell) away.
	for _, no := range []string{"\x1b]104", "\x1b]110", "\x1b]111", "\x1b]112"} {
		if strings.Contains(got, no) {
			t.Errorf("Restore() = %q holds %q", got, no)
		}
	}
	got = restoreAfter("\x1b]4;1;rgb:ff/00/00\x07\x1b]10;?\x07\x1b]11;#102030\x1b\\\x1b]12;?\x07")
	for _, w := range []string{"\x1b]104\x1b\\", "\x1b]111\x1b\\"} {
		if !strings.Contains(got, w) {
			t.Errorf("Restore() = %q lacks %q", got, w)
		}
	}
	for _, no := range []string{"\x1b]110", "\x1b]112"} { // only asked
		if strings.Contains(got, no) {
			t.Errorf("Restore() = %q holds %q", got, no)
		}
	}
	// OSC 10 with several values sets the colours after it too; the
	// program's own resets leave nothing to do.
	if got := restoreAfter("\x1b]10;red;blue\x07"); !strings.Contains(got, "\x1b]110") || !strings.Contains(got, "\x1b]111") || strings.Contains(got, "\x1b]112") {
		t.Errorf("Restore() = %q", got)
	}
	if got := restoreAfter("\x1b]4;1;red\x07\x1b]11;red\x07\x1b]104\x07\x1b]111\x07"); strings.Contains(got, "\x1b]1") {
		t.Errorf("Restore() = %q", got)
	}
}

func TestModesBounded(t *testing.T) {
	got := restoreAfter(PushTitle + strings.Repeat("\x1b[22t", 100000))
	if n := strings.Count(got, "\x1b[23;0t"); n != maxTitles {
		t.Errorf("Restore() pops %d titles, want %d", n, maxTitles)
	}
	if len(got) > 1024 {
		t.Errorf("Restore() is %d bytes", len(got))
	}
	m := NewModes()
	var b strings.Builder
	for n := range 100000 {
		fmt.Fprintf(&b, "\x1b[?%dh", n+3000)
	}
	_, _ = m.Write([]byte(b.String() + "\x1b[?1000h"))
	if len(m.private) > len(privateDefault) {
		t.Errorf("Modes keeps %d private modes", len(m.private))
	}
	if !strings.Contains(string(m.Restore()), "\x1b[?1000l") {
		t.Error("Restore() does not reset 1000")
	}
}
