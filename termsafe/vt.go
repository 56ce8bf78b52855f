package termsafe

import "unicode/utf8"

// Kind is what a piece of terminal output is.
type Kind uint8

const (
	// Text is printable text: whole UTF-8 runes (and any invalid bytes).
	Text Kind = iota
	// Control is one C0 control character or DEL, such as '\n' or '\r'.
	Control
	// CSI is a control sequence: ESC [ params intermediates final.
	CSI
	// Esc is an escape sequence: ESC intermediates final, such as ESC 7.
	Esc
	// OSC is an operating system command: ESC ] data, ended by BEL or ST.
	OSC
	// DCS is a device control string: ESC P data ST.
	DCS
	// String is SOS, PM or APC (ESC X, ESC ^, ESC _): data ST.
	String
)

// Token is one piece of terminal output. Its slices are valid only during
// the callback that receives it.
type Token struct {
	Kind Kind
	// Text is the text of a Text token and the byte of a Control one.
	Text []byte
	// Prefix is a CSI's private marker ('?', '>', '<' or '='), or 0.
	Prefix byte
	// Params are a CSI's parameter bytes after its prefix ("1;2").
	Params []byte
	// Inter are the intermediate bytes of a CSI or an escape sequence.
	Inter []byte
	// Final is the final byte of a CSI or escape sequence, and the
	// introducer of a string (']', 'P', 'X', '^' or '_').
	Final byte
	// Data is a string's payload, cut at maxData bytes.
	Data []byte
}

// Param returns a CSI's i-th numeric parameter, or def when it is absent or
// zero-length. Sub-parameters (after ':') are ignored.
func (t *Token) Param(i, def int) int {
	idx, n, have, subParam := 0, 0, false, false
	for _, b := range t.Params {
		if b == ';' {
			if idx == i {
				break
			}
			idx, subParam = idx+1, false
			continue
		}
		switch {
		case idx != i || subParam:
		case b == ':':
			subParam = true
		case b >= '0' && b <= '9':
			if n < 1<<20 {
				n = n*10 + int(b-'0')
			}
			have = true
		}
	}
	if idx != i || !have || (n == 0 && def != 0) {
		return def
	}
	return n
}

// NumParams is how many parameters a CSI carries (";" separates them).
func (t *Token) NumParams() int {
	if len(t.Params) == 0 {
		return 0
	}
	n := 1
	for _, b := range t.Params {
		if b == ';' {
			n++
		}
	}
	return n
}

const (
	esc = 0x1b
	can = 0x18
	sub = 0x1a
	bel = 0x07
	del = 0x7f

	maxParams = 64
	maxInter  = 8
	maxData   = 4096
)

type vtState uint8

const (
	ground vtState = iota
	escape
	csiState
	stringState
)

// Parser splits terminal output into tokens the way a terminal (DEC's
// VT500 state machine, in UTF-8) does: a sequence split across writes is
// put together again, and a rune split across writes stays whole. The
// zero Parser is ready.
type Parser struct {
	state  vtState
	prefix byte
	params []byte
	inter  []byte
	data   []byte
	intro  byte // the string's introducer
	strEsc bool // an ESC inside a string: ST or the start of a sequence
	strC2  bool // a string's last byte was 0xc2, which may begin a C1 control
	ignore bool // a CSI too long or malformed: dropped at its final byte
	pend   []byte
	tok    Token
}

// InSequence reports whether the output so far ends inside an escape
// sequence or a string, which the terminal would still be reading.
func (p *Parser) InSequence() bool { return p.state != ground }

// Feed parses b and calls emit for each whole token in it.
func (p *Parser) Feed(b []byte, emit func(*Token)) {
	i := 0
	for i < len(b) {
		switch p.state {
		case ground:
			i = p.ground(b, i, emit)
		case escape:
			i = p.escape(b, i, emit)
		case csiState:
			i = p.csi(b, i, emit)
		case stringState:
			i = p.str(b, i, emit)
		}
	}
}

// Flush emits a rune held back at the end of the output (invalid, since
// nothing completes it) and forgets an unfinished sequence.
func (p *Parser) Flush(emit func(*Token)) {
	if len(p.pend) > 0 {
		p.text(p.pend, emit)
		p.pend = p.pend[:0]
	}
	p.state, p.strC2 = ground, false
}

func (p *Parser) text(t []byte, emit func(*Token)) {
	p.tok = Token{Kind: Text, Text: t}
	emit(&p.tok)
}

func (p *Parser) control(c byte, emit func(*Token)) {
	p.tok = Token{Kind: Control, Text: []byte{c}}
	emit(&p.tok)
}

func (p *Parser) ground(b []byte, i int, emit func(*Token)) int {
	// A rune begun in the previous write.
	for len(p.pend) > 0 {
		if i == len(b) {
			return i
		}
		if c := b[i]; c&0xc0 == 0x80 && !utf8.FullRune(p.pend) {
			p.pend = append(p.pend, c)
			i++
			if !utf8.FullRune(p.pend) {
				continue
			}
		}
		if isC1(p.pend) {
			c := p.pend[1]
			p.pend = p.pend[:0]
			p.c1(c, emit)
			return i
		}
		p.text(p.pend, emit)
		p.pend = p.pend[:0]
	}
	j := i
	for j < len(b) && b[j] >= 0x20 && b[j] != del && !isC1(b[j:]) {
		j++
	}
	if j > i {
		run := b[i:j]
		if j == len(b) {
			// Hold back a rune the next write completes.
			k := len(run) - 1
			for k > 0 && len(run)-k < utf8.UTFMax && run[k]&0xc0 == 0x80 {
				k--
			}
			if run[k] >= 0xc0 && !utf8.FullRune(run[k:]) {
				p.pend = append(p.pend[:0], run[k:]...)
				run = run[:k]
			}
		}
		if len(run) > 0 {
			p.text(run, emit)
		}
	}
	if j < len(b) {
		switch {
		case b[j] == esc:
			p.enterEscape()
		case isC1(b[j:]):
			j++
			p.c1(b[j], emit)
		default:
			p.control(b[j], emit)
		}
		j++
	}
	return j
}

// isC1 reports whether b starts with a C1 control (U+0080 to U+009F) in
// UTF-8. A terminal reading UTF-8 (xterm, and most others) acts on them as
// it does on their 7-bit forms: U+009B is CSI, as ESC [ is.
func isC1(b []byte) bool {
	return len(b) >= 2 && b[0] == 0xc2 && b[1] >= 0x80 && b[1] <= 0x9f
}

// c1 acts on the C1 control whose UTF-8 form ends in c (0x80 to 0x9f) as
// on its 7-bit form, ESC followed by c-0x40.
func (p *Parser) c1(c byte, emit func(*Token)) {
	p.enterEscape()
	p.escape([]byte{c - 0x40}, 0, emit)
}

func (p *Parser) enterEscape() {
	p.state = escape
	p.inter = p.inter[:0]
}

func (p *Parser) escape(b []byte, i int, emit func(*Token)) int {
	c := b[i]
	switch {
	case c == esc:
		p.enterEscape()
	case c == can || c == sub:
		p.state = ground
	case c < 0x20:
		p.control(c, emit)
	case c < 0x30: // intermediate
		if len(p.inter) < maxInter {
			p.inter = append(p.inter, c)
		}
	case c == '[' && len(p.inter) == 0:
		p.state, p.prefix, p.params, p.ignore = csiState, 0, p.params[:0], false
	case (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') && len(p.inter) == 0:
		p.state, p.intro, p.data, p.strEsc, p.strC2 = stringState, c, p.data[:0], false, false
	case c < del: // final
		p.tok = Token{Kind: Esc, Inter: p.inter, Final: c}
		emit(&p.tok)
		p.state = ground
	case c == del:
	default: // not a sequence after all: the byte is text again
		p.state = ground
		return i
	}
	return i + 1
}

func (p *Parser) csi(b []byte, i int, emit func(*Token)) int {
	c := b[i]
	switch {
	case c == esc:
		p.enterEscape()
	case c == can || c == sub:
		p.state = ground
	case c < 0x20:
		p.control(c, emit)
	case c < 0x30: // intermediate
		if len(p.inter) < maxInter {
			p.inter = append(p.inter, c)
		} else {
			p.ignore = true
		}
	case c < 0x40: // parameter, or a private marker first
		switch {
		case c >= '<' && len(p.params) == 0 && p.prefix == 0:
			p.prefix = c
		case len(p.inter) > 0 || c >= '<' || len(p.params) >= maxParams:
			p.ignore = true
		default:
			p.params = append(p.params, c)
		}
	case c < del: // final
		if !p.ignore {
			p.tok = Token{Kind: CSI, Prefix: p.prefix, Params: p.params, Inter: p.inter, Final: c}
			emit(&p.tok)
		}
		p.state = ground
	case c == del:
	default:
		p.state = ground
		return i
	}
	return i + 1
}

func (p *Parser) str(b []byte, i int, emit func(*Token)) int {
	c := b[i]
	if p.strEsc {
		p.strEsc = false
		p.endString(emit)
		if c == '\\' {
			p.state = ground
			return i + 1
		}
		// ESC began a new sequence, which this byte continues.
		p.enterEscape()
		return i
	}
	if p.strC2 {
		p.strC2 = false
		if c >= 0x80 && c <= 0x9f {
			return p.strC1(c, i+1, emit)
		}
		if len(p.data) < maxData {
			p.data = append(p.data, 0xc2)
		}
	}
	switch {
	case c == esc:
		p.strEsc = true
	case c == 0xc2 && i+1 == len(b):
		p.strC2 = true // a C1 control, maybe, which the next write completes
	case isC1(b[i:]):
		return p.strC1(b[i+1], i+2, emit)
	case c == bel && p.intro == ']':
		p.endString(emit)
		p.state = ground
	case c == can || c == sub:
		p.state = ground
	default:
		if len(p.data) < maxData {
			p.data = append(p.data, c)
		}
	}
	return i + 1
}

// strC1 ends a string at a C1 control, as ESC does: ST (U+009C) ends it,
// any other begins what follows. It returns next, where parsing goes on.
func (p *Parser) strC1(c byte, next int, emit func(*Token)) int {
	p.endString(emit)
	if c == 0x9c {
		p.state = ground
		return next
	}
	p.c1(c, emit)
	return next
}

func (p *Parser) endString(emit func(*Token)) {
	k := String
	switch p.intro {
	case ']':
		k = OSC
	case 'P':
		k = DCS
	}
	p.tok = Token{Kind: k, Final: p.intro, Data: p.data}
	emit(&p.tok)
}
