package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/clauderon/clauderon/termsafe"
)

// A print session's output is Claude Code's stream-json: one JSON object a
// line (system init, assistant and user messages, the result), and
// whatever else it or the gateway wrote on stderr. renderConversation
// shows it as a conversation. Everything in it is the container's, so all
// of it goes through termsafe.

const (
	maxRenderLine   = 32 << 20 // longer lines (a huge tool result) are not shown
	maxPlainLine    = 4 << 10  // a line that is not stream-json is cut here
	resultLines     = 5        // lines of a tool result shown
	thinkingLines   = 3
	maxSummaryRunes = 120
	maxResultRunes  = 200
)

// renderConversation reads stream-json lines from r and writes each to w
// as text as soon as it is whole (logs -f shows it as it comes).
func renderConversation(w io.Writer, r io.Reader, color bool) error {
	cr := &convRenderer{w: w, color: color}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, tooLong, err := readLine(br, maxRenderLine)
		if tooLong {
			cr.meta(fmt.Sprintf("(a line of more than %d MiB, not shown: clauderon logs --raw prints it)", maxRenderLine>>20))
		} else if len(line) > 0 {
			cr.line(line)
		}
		if werr := cr.flush(); werr != nil {
			return werr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line of at most max bytes (without its end); a longer
// one is read to its end and reported as tooLong.
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > max+2 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

type convRenderer struct {
	w     io.Writer
	color bool
	out   bytes.Buffer
	turns int
	last  string // the last assistant text, which a result usually repeats
}

func (c *convRenderer) flush() error {
	if c.out.Len() == 0 {
		return nil
	}
	_, err := c.w.Write(c.out.Bytes())
	c.out.Reset()
	return err
}

// streamLine is what the renderer reads of a stream-json line.
type streamLine struct {
	Type            string  `json:"type"`
	Subtype         string  `json:"subtype"`
	ParentToolUseID *string `json:"parent_tool_use_id"`
	// system init
	Model string `json:"model"`
	Cwd   string `json:"cwd"`
	// assistant, user
	Message *struct {
		Content json.RawMessage `json:"content"`
	} `json:"message"`
	// result
	IsError      bool     `json:"is_error"`
	Result       string   `json:"result"`
	NumTurns     int      `json:"num_turns"`
	DurationMS   int64    `json:"duration_ms"`
	TotalCostUSD *float64 `json:"total_cost_usd"`
	CostUSD      *float64 `json:"cost_usd"`
}

// block is one content block of a message.
type block struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	ToolUseID string          `json:"tool_use_id"`
}

func (c *convRenderer) line(raw []byte) {
	trimmed := bytes.TrimSpace(raw)
	var l streamLine
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &l) != nil || l.Type == "" {
		// Not stream-json: Claude Code's or the gateway's stderr.
		c.println(cutLine(raw))
		return
	}
	indent := ""
	if l.ParentToolUseID != nil && *l.ParentToolUseID != "" {
		indent = "    " // a subagent's, inside its Task call
	}
	switch l.Type {
	case "system":
		if l.Subtype == "init" {
			c.turns++
			parts := []string{fmt.Sprintf("turn %d", c.turns)}
			for _, p := range []string{l.Model, l.Cwd} {
				if p != "" {
					parts = append(parts, termsafe.Line(p))
				}
			}
			c.meta(strings.Join(parts, " · "))
		} else if l.Subtype != "" {
			c.meta(termsafe.Line(l.Subtype))
		}
	case "assistant", "user":
		if l.Message != nil {
			c.message(l.Type, l.Message.Content, indent)
		}
	case "result":
		c.result(l)
	}
	// Other lines (rate limits, partial stream events) say nothing to read.
}

func (c *convRenderer) message(role string, content json.RawMessage, indent string) {
	var text string
	if json.Unmarshal(content, &text) == nil {
		c.text(role, text, indent)
		return
	}
	var blocks []block
	if json.Unmarshal(content, &blocks) != nil {
		return
	}
	for _, b := range blocks {
		switch b.Type {
		case "text":
			c.text(role, b.Text, indent)
		case "thinking":
			c.para(indent+"✻ ", clip(b.Thinking, thinkingLines), colorDim)
		case "tool_use":
			c.println(indent + "● " + termsafe.Line(b.Name) + "(" + toolSummary(b.Name, b.Input) + ")")
		case "tool_result":
			c.toolResult(b, indent)
		case "image":
			c.println(indent + c.paint(colorDim, "[image]"))
		}
	}
}

func (c *convRenderer) text(role, text, indent string) {
	text = strings.TrimRight(text, "\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	if role == "assistant" {
		c.last = text
		c.para(indent+"● ", text, "")
		return
	}
	c.para(indent+"> ", text, colorDim)
}

func (c *convRenderer) toolResult(b block, indent string) {
	var text string
	if json.Unmarshal(b.Content, &text) != nil {
		var parts []block
		_ = json.Unmarshal(b.Content, &parts)
		var all []string
		for _, p := range parts {
			switch p.Type {
			case "text":
				all = append(all, p.Text)
			case "image":
				all = append(all, "[image]")
			}
		}
		text = strings.Join(all, "\n")
	}
	text = strings.TrimRight(text, "\n")
	if strings.TrimSpace(text) == "" {
		text = "(no output)"
	}
	style := colorDim
	if b.IsError {
		style, text = colorRed, "error: "+text
	}
	c.para(indent+"  ⎿  ", clip(text, resultLines), style)
}

func (c *convRenderer) result(l streamLine) {
	text := strings.TrimRight(l.Result, "\n")
	if text != "" && text != c.last {
		style := ""
		if l.IsError {
			style = colorRed
		}
		c.para("● ", text, style)
	}
	c.last = ""
	var parts []string
	switch {
	case l.IsError && l.Subtype != "" && l.Subtype != "success":
		parts = append(parts, "failed ("+termsafe.Line(l.Subtype)+")")
	case l.IsError:
		parts = append(parts, "failed")
	default:
		parts = append(parts, "done")
	}
	if l.NumTurns > 0 {
		parts = append(parts, plural(l.NumTurns, "turn"))
	}
	if cost := l.TotalCostUSD; cost != nil || l.CostUSD != nil {
		if cost == nil {
			cost = l.CostUSD
		}
		parts = append(parts, fmt.Sprintf("$%.4f", *cost))
	}
	if l.DurationMS > 0 {
		parts = append(parts, fmt.Sprintf("%.1fs", float64(l.DurationMS)/1000))
	}
	line := "── " + strings.Join(parts, " · ")
	if l.IsError {
		c.println(c.paint(colorRed, line))
		return
	}
	c.println(c.paint(colorDim, line))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// meta prints a line about the conversation rather than of it.
func (c *convRenderer) meta(s string) { c.println(c.paint(colorDim, "── "+s)) }

func (c *convRenderer) println(s string) {
	c.out.WriteString(s)
	c.out.WriteByte('\n')
}

func (c *convRenderer) paint(code, s string) string { return paint(c.color && code != "", code, s) }

// para prints text (made visible) after prefix, its further lines indented
// to match, each painted in style.
func (c *convRenderer) para(prefix, text, style string) {
	cont := strings.Repeat(" ", len([]rune(prefix)))
	for i, ln := range strings.Split(termsafe.Visible(text), "\n") {
		p := cont
		if i == 0 {
			p = prefix
		}
		c.println(p + c.paint(style, strings.TrimRight(ln, " \t")))
	}
}

// clip keeps the first n lines of text, each cut at maxResultRunes, and
// says how many more there were.
func clip(text string, n int) string {
	lines := strings.Split(text, "\n")
	more := 0
	if len(lines) > n {
		lines, more = lines[:n], len(lines)-n
	}
	for i, ln := range lines {
		lines[i] = cut(ln, maxResultRunes)
	}
	if more > 0 {
		lines = append(lines, fmt.Sprintf("… +%d lines", more))
	}
	return strings.Join(lines, "\n")
}

// cutLine is a line that is not stream-json made visible, cut at
// maxPlainLine bytes (at a rune's start) with how many more there were.
func cutLine(raw []byte) string {
	if len(raw) <= maxPlainLine {
		return termsafe.Line(string(raw))
	}
	n := maxPlainLine
	for k := n; k > n-utf8.UTFMax && k > 0; k-- {
		if utf8.RuneStart(raw[k]) {
			n = k
			break
		}
	}
	return termsafe.Line(string(raw[:n])) + fmt.Sprintf("… %d more bytes (clauderon logs --raw)", len(raw)-n)
}

// cut shortens s to n runes, marking the cut.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// summaryKeys are the inputs that say what a tool call does, by tool;
// any other tool is summarised by the first of summaryFallback it has, or
// its input as JSON.
var (
	summaryKeys = map[string][]string{
		"Bash":         {"command"},
		"Read":         {"file_path"},
		"Write":        {"file_path"},
		"Edit":         {"file_path"},
		"MultiEdit":    {"file_path"},
		"NotebookEdit": {"notebook_path"},
		"Glob":         {"pattern"},
		"Grep":         {"pattern"},
		"WebFetch":     {"url"},
		"WebSearch":    {"query"},
		"Task":         {"description"},
		"Agent":        {"description"},
	}
	summaryFallback = []string{"command", "file_path", "path", "pattern", "url", "query", "description", "name", "prompt"}
)

// toolSummary says in one line what a tool call does: its command, file,
// pattern or URL, else its input as JSON, shortened and made visible.
func toolSummary(name string, raw json.RawMessage) string {
	var input map[string]any
	_ = json.Unmarshal(raw, &input)
	str := func(k string) string { s, _ := input[k].(string); return s }
	var s string
	keys, known := summaryKeys[name]
	if !known {
		keys = summaryFallback
	}
	for _, k := range keys {
		if s = str(k); s != "" {
			break
		}
	}
	switch {
	case s != "" && (name == "Glob" || name == "Grep") && str("path") != "":
		s += " in " + str("path")
	case s == "" && name == "TodoWrite":
		if todos, ok := input["todos"].([]any); ok {
			s = plural(len(todos), "todo")
		}
	case s == "" && len(input) > 0:
		b, _ := json.Marshal(input)
		s = string(b)
	}
	return termsafe.Line(cut(s, maxSummaryRunes))
}
