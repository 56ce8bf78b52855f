package termsafe

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// TextWriter renders what a program wrote to a terminal (a TTY's output,
// such as an interactive session's logs) as plain text that is safe to
// print: no escape sequence, string or control character reaches w, so
// nothing in it can query the terminal (and have the answer typed into
// the shell), set its title or clipboard, clear it or move its cursor.
//
// The text stays readable: a carriage return or a cursor move to another
// line starts a new line (so redrawn lines follow each other rather than
// overwrite each other), a cursor move to the right becomes spaces, runs
// of blank lines become one, and invisible formatting characters are shown
// as Visible shows them. Everything else of a sequence is dropped.
type TextWriter struct {
	w     io.Writer
	p     Parser
	out   bytes.Buffer
	col   int  // runes written on the current output line
	cur   int  // the column the terminal's cursor would be at
	brk   bool // the cursor went to another line: the next text starts a new one
	blank int  // newlines written since the last text
	err   error
}

// NewTextWriter returns a TextWriter writing to w. Call Close at the end,
// which writes a rune or line the output left unfinished.
func NewTextWriter(w io.Writer) *TextWriter {
	return &TextWriter{w: w, blank: 2}
}

// maxPad bounds the spaces a cursor move becomes.
const maxPad = 256

// Write renders p and writes it at once (logs -f shows it as it comes).
func (t *TextWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	t.p.Feed(p, t.token)
	return len(p), t.flush()
}

// Close writes what is held back and ends the last line.
func (t *TextWriter) Close() error {
	if t.err != nil {
		return t.err
	}
	t.p.Flush(t.token)
	if t.col > 0 {
		t.out.WriteByte('\n')
		t.col = 0
	}
	return t.flush()
}

func (t *TextWriter) flush() error {
	if t.out.Len() == 0 {
		return nil
	}
	_, t.err = t.w.Write(t.out.Bytes())
	t.out.Reset()
	return t.err
}

// newline is a line feed: it ends the line, or makes one blank line at most.
func (t *TextWriter) newline() {
	if t.col > 0 || t.blank < 2 {
		t.out.WriteByte('\n')
		t.blank++
	}
	t.col, t.cur, t.brk = 0, 0, false
}

// leave notes that the cursor went to another line.
func (t *TextWriter) leave() { t.brk = true }

// text writes s; spaces only move the cursor until text follows them, so
// no line ends in the blanks a screen is drawn with.
func (t *TextWriter) text(s []byte) {
	for len(s) > 0 {
		if s[0] == ' ' {
			n := len(s) - len(bytes.TrimLeft(s, " "))
			t.cur += n
			s = s[n:]
			continue
		}
		n := bytes.IndexByte(s, ' ')
		if n < 0 {
			n = len(s)
		}
		t.put(s[:n])
		s = s[n:]
	}
}

// put writes s at the cursor: on a new line when the cursor left the line
// or went back over what is on it (so that nothing is hidden by being
// overwritten), after spaces up to the cursor's column.
func (t *TextWriter) put(s []byte) {
	if t.col > 0 && (t.brk || t.cur < t.col) {
		t.out.WriteByte('\n')
		t.col = 0
	}
	t.brk = false
	for n := min(t.cur-t.col, maxPad); n > 0; n-- {
		t.out.WriteByte(' ')
		t.col++
	}
	if bytes.Equal(s, []byte{'\t'}) {
		t.out.WriteByte('\t')
		t.col = (t.col/8 + 1) * 8
	} else {
		t.out.WriteString(Visible(string(s)))
		t.col += utf8.RuneCount(s)
	}
	t.cur, t.blank = t.col, 0
}

func (t *TextWriter) token(tok *Token) {
	switch tok.Kind {
	case Text:
		t.text(tok.Text)
	case Control:
		switch tok.Text[0] {
		case '\n', '\v', '\f':
			t.newline()
		case '\r':
			t.cur = 0
		case '\b':
			t.cur = max(t.cur-1, 0)
		case '\t':
			t.put(tok.Text)
		}
	case CSI:
		if tok.Prefix != 0 || len(tok.Inter) != 0 {
			return // modes, queries, cursor styles: nothing to see
		}
		switch tok.Final {
		case 'C', 'a': // cursor forward
			t.cur += min(tok.Param(0, 1), maxPad)
		case 'D': // cursor back
			t.cur = max(t.cur-tok.Param(0, 1), 0)
		case 'G', '`': // cursor to a column
			t.cur = min(tok.Param(0, 1), maxPad*4) - 1
		case 'H', 'f': // cursor to a line and column
			t.leave()
			t.cur = min(tok.Param(1, 1), maxPad*4) - 1
		case 'E', 'F': // to the start of another line
			t.leave()
			t.cur = 0
		case 'A', 'B', 'd', 'e', 'S', 'T', 'L', 'M':
			t.leave()
		case 'J':
			if tok.Param(0, 0) >= 2 {
				t.leave()
			}
		}
	case Esc:
		if len(tok.Inter) == 0 {
			switch tok.Final {
			case 'D', 'M':
				t.leave()
			case 'E', '8', 'c':
				t.leave()
				t.cur = 0
			}
		}
	}
}
