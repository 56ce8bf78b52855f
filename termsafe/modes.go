package termsafe

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Modes follows what a program's output does to the terminal it is written
// to (attach writes a session's TTY output to the user's terminal), so that
// Restore can undo it when the program is left running elsewhere: a TUI
// that turned on mouse reporting, bracketed paste or the alternate screen
// would otherwise leave the user's shell with them. Write it every byte the
// terminal was given.
type Modes struct {
	p                                         Parser
	private                                   map[int]bool // DEC private modes set (true) or reset (false)
	alt                                       int          // the alternate screen's mode (1049, 1047, 47), 0 when on the main one
	kitty                                     int          // kitty keyboard flags pushed and not popped
	titles                                    int          // titles pushed (PushTitle) and not popped, at most maxTitles
	kittySet, otherKeys, margins, cursorStyle bool
	palette                                   bool    // OSC 4 changed the colour palette
	dynamic                                   [3]bool // OSC 10, 11, 12 changed the foreground, background, cursor colour
}

// maxTitles is how many titles xterm's title stack holds; it drops the
// oldest to push another, so popping more would take nobody's.
const maxTitles = 10

// NewModes returns a Modes for a terminal in its usual state.
func NewModes() *Modes { return &Modes{private: map[int]bool{}} }

// Write notes what p does to the terminal; it never fails.
func (m *Modes) Write(p []byte) (int, error) {
	m.p.Feed(p, m.token)
	return len(p), nil
}

// privateDefault is the usual state of the DEC private modes Restore puts
// back when the output changed them (modes that resize the window, such as
// 3, or whose default differs between terminals, are left alone).
var privateDefault = map[int]bool{
	1: false, 5: false, 6: false, 7: true, 8: true, 9: false, 25: true, 45: false, 66: false,
	1000: false, 1001: false, 1002: false, 1003: false, 1004: false, 1005: false, 1006: false,
	1015: false, 1016: false, 2004: false, 2026: false, 2031: false, 2048: false,
}

// alwaysReset are the modes Restore resets even when it did not see them
// set: a session's program may have set them before a re-attach's redraw,
// and resetting them costs nothing. They are xterm's defaults.
var alwaysReset = []int{1, 9, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1015, 1016, 2004, 2026}

func (m *Modes) token(t *Token) {
	switch t.Kind {
	case Esc:
		switch {
		case len(t.Inter) == 0 && t.Final == 'c': // RIS: a full reset
			*m = Modes{p: m.p, private: map[int]bool{}}
		}
	case CSI:
		m.csi(t)
	case OSC:
		m.osc(t.Data)
	}
}

// osc notes the colours an OSC changes: OSC 4 the palette, OSC 10, 11 and
// 12 the dynamic colours (OSC 10 given several values sets 11 and 12 with
// them; "?" only asks). OSC 104 and 110 to 112 put them back.
func (m *Modes) osc(data []byte) {
	num, rest, _ := strings.Cut(string(data), ";")
	n, err := strconv.Atoi(num)
	if err != nil {
		return
	}
	switch {
	case n == 4:
		if strings.ContainsFunc(rest, func(r rune) bool { return r != '?' && r != ';' && (r < '0' || r > '9') }) {
			m.palette = true
		}
	case n == 104:
		if rest == "" {
			m.palette = false
		}
	case n >= 10 && n <= 12:
		for i, v := range strings.Split(rest, ";") {
			if k := n - 10 + i; k < len(m.dynamic) && v != "?" && v != "" {
				m.dynamic[k] = true
			}
		}
	case n >= 110 && n <= 112:
		m.dynamic[n-110] = false
	}
}

func (m *Modes) csi(t *Token) {
	switch {
	case t.Prefix == '?' && len(t.Inter) == 0 && (t.Final == 'h' || t.Final == 'l'):
		on := t.Final == 'h'
		for i := range t.NumParams() {
			switch n := t.Param(i, 0); n {
			case 1049, 1047, 47:
				m.alt = 0
				if on {
					m.alt = n
				}
			default:
				// Only the modes Restore puts back: a map of every number
				// seen would grow without bound.
				if _, ok := privateDefault[n]; ok {
					m.private[n] = on
				}
			}
		}
	case t.Prefix == '>' && t.Final == 'u' && len(t.Inter) == 0: // kitty keyboard: push
		m.kitty++
	case t.Prefix == '<' && t.Final == 'u' && len(t.Inter) == 0: // kitty keyboard: pop
		m.kitty = max(m.kitty-t.Param(0, 1), 0)
	case t.Prefix == '=' && t.Final == 'u' && len(t.Inter) == 0: // kitty keyboard: set
		m.kittySet = true
	case t.Prefix == '>' && t.Final == 'm' && len(t.Inter) == 0: // xterm modifyOtherKeys and friends
		m.otherKeys = true
	case t.Prefix == 0 && t.Final == 'r' && len(t.Inter) == 0: // DECSTBM: scroll margins
		m.margins = true
	case t.Prefix == 0 && t.Final == 'q' && string(t.Inter) == " ": // DECSCUSR: cursor style
		m.cursorStyle = true
	case t.Prefix == 0 && t.Final == 't' && len(t.Inter) == 0: // XTWINOPS: the title stack
		switch t.Param(0, 0) {
		case 22:
			m.titles = min(m.titles+1, maxTitles)
		case 23:
			m.titles = max(m.titles-1, 0)
		}
	}
}

// PushTitle saves the terminal's window and icon titles (xterm's title
// stack; a terminal without one ignores it). Write it, through Modes too,
// before the program's output: Restore pops it, so a title the program set
// goes away with it.
const PushTitle = "\x1b[22;0t"

// Restore returns the bytes that put the terminal back as it was before
// the output it was written: an unfinished sequence cancelled, attributes
// reset, mouse and focus reporting, bracketed paste and application
// cursor keys and keypad off, the ASCII character set, insert mode and
// LNM off, keyboard protocols popped, scroll margins and cursor style
// reset, the palette and dynamic colours reset (when the output set them),
// the alternate screen left (only when the output entered it: leaving it
// otherwise would move the cursor to wherever the program last saved it),
// the cursor shown and the titles pushed (by PushTitle, or the program)
// popped, up to the maxTitles a title stack holds.
func (m *Modes) Restore() []byte {
	var b strings.Builder
	if m.p.InSequence() {
		b.WriteByte(can)
	}
	b.WriteString("\x1b[0m")
	reset := map[int]bool{}
	for _, n := range alwaysReset {
		reset[n] = false
	}
	for n, on := range m.private {
		if def, ok := privateDefault[n]; ok && on != def {
			reset[n] = def
		}
	}
	delete(reset, 25) // shown last
	keys := make([]int, 0, len(reset))
	for n := range reset {
		keys = append(keys, n)
	}
	sort.Ints(keys)
	for _, n := range keys {
		b.WriteString(decMode(n, reset[n]))
	}
	b.WriteString("\x1b>")           // DECKPNM: the keypad's usual mode
	b.WriteString("\x0f\x1b(B")      // SI and G0 ASCII: no line-drawing characters for text
	b.WriteString("\x1b[4l\x1b[20l") // replace mode, and LNM off: a line feed does not return
	if m.palette {
		b.WriteString("\x1b]104\x1b\\")
	}
	for i, set := range m.dynamic {
		if set {
			fmt.Fprintf(&b, "\x1b]%d\x1b\\", 110+i)
		}
	}
	if m.kitty > 0 {
		fmt.Fprintf(&b, "\x1b[<%du", m.kitty)
	}
	if m.kittySet {
		b.WriteString("\x1b[=0;1u")
	}
	if m.otherKeys {
		b.WriteString("\x1b[>4m")
	}
	if m.cursorStyle {
		b.WriteString("\x1b[0 q")
	}
	if m.margins {
		if m.alt != 0 {
			b.WriteString("\x1b[r") // homes the alternate screen's cursor, which is left next
		} else {
			b.WriteString("\x1b7\x1b[r\x1b8") // DECSTBM homes the cursor: keep it where it is
		}
	}
	if m.alt != 0 {
		b.WriteString(decMode(m.alt, false))
	}
	b.WriteString(decMode(25, true))
	for range m.titles {
		b.WriteString("\x1b[23;0t")
	}
	return []byte(b.String())
}

// decMode sets (DECSET) or resets (DECRST) DEC private mode n.
func decMode(n int, on bool) string {
	if on {
		return "\x1b[?" + strconv.Itoa(n) + "h"
	}
	return "\x1b[?" + strconv.Itoa(n) + "l"
}
