package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A print session's stream-json, as Claude Code writes it (shortened).
const streamJSON = `{"type":"system","subtype":"init","cwd":"/workspace","session_id":"c150","tools":["Bash"],"model":"claude-sonnet-5","permissionMode":"bypassPermissions"}
{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"first\nsecond\nthird\nfourth"},{"type":"text","text":"I'll run it.\n"},{"id":"toolu_1","input":{"command":"echo hi; seq 1 7","description":"say hi"},"name":"Bash","type":"tool_use"}],"role":"assistant"},"parent_tool_use_id":null,"session_id":"c150"}
{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"hi\n1\n2\n3\n4\n5\n6\n7","is_error":false}]},"parent_tool_use_id":null}
{"type":"assistant","message":{"content":[{"id":"toolu_2","input":{"file_path":"/workspace/x.go"},"name":"Read","type":"tool_use"}]},"parent_tool_use_id":null}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_2","type":"tool_result","content":[{"type":"text","text":"no such file"}],"is_error":true}]}}
{"type":"assistant","message":{"content":[{"id":"toolu_3","input":{"description":"look around","prompt":"find it","subagent_type":"Explore"},"name":"Task","type":"tool_use"}]},"parent_tool_use_id":null}
{"type":"user","message":{"role":"user","content":[{"type":"text","text":"find it"}]},"parent_tool_use_id":"toolu_3"}
{"type":"assistant","message":{"content":[{"type":"text","text":"It is in y.go."}]},"parent_tool_use_id":"toolu_3"}
{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_3","type":"tool_result","content":[{"type":"text","text":"It is in y.go."}]}]},"parent_tool_use_id":null}
{"type":"assistant","message":{"content":[{"type":"text","text":"Done: it is in y.go."},{"id":"toolu_4","input":{"server":"x","args":[1,2]},"name":"mcp__x__do","type":"tool_use"}]},"parent_tool_use_id":null}
{"type":"result","subtype":"success","is_error":false,"duration_ms":2530,"num_turns":4,"result":"Done: it is in y.go.","session_id":"c150","total_cost_usd":0.0123}
clauderon gateway: the container's command exited
{"type":"system","subtype":"init","cwd":"/workspace","session_id":"c150","model":"claude-sonnet-5"}
{"type":"result","subtype":"error_max_turns","is_error":true,"duration_ms":100,"num_turns":1,"result":"Reached the maximum number of turns","cost_usd":0.001}
`

const wantRendered = `── turn 1 · claude-sonnet-5 · /workspace
✻ first
  second
  third
  … +1 lines
● I'll run it.
● Bash(echo hi; seq 1 7)
  ⎿  hi
     1
     2
     3
     4
     … +3 lines
● Read(/workspace/x.go)
  ⎿  error: no such file
● Task(look around)
    > find it
    ● It is in y.go.
  ⎿  It is in y.go.
● Done: it is in y.go.
● mcp__x__do({"args":[1,2],"server":"x"})
── done · 4 turns · $0.0123 · 2.5s
clauderon gateway: the container's command exited
── turn 2 · claude-sonnet-5 · /workspace
● Reached the maximum number of turns
── failed (error_max_turns) · 1 turn · $0.0010 · 0.1s
`

func TestRenderConversation(t *testing.T) {
	var out bytes.Buffer
	if err := renderConversation(&out, strings.NewReader(streamJSON), false); err != nil {
		t.Fatal(err)
	}
	if out.String() != wantRendered {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), wantRendered)
	}
}

// Everything of the container's is shown, never obeyed: escapes in the
// text, tool calls and results, and lines that are not JSON, with colour
// or without.
func TestRenderConversationEscapes(t *testing.T) {
	const hostile = `\u001b]52;c;aGk=\u0007\u001b]0;pwned\u001b\\\u001b[2J\u001b[H\u202eevil\u009b1m`
	stream := `{"type":"system","subtype":"init","model":"m` + hostile + `","cwd":"/w"}
{"type":"assistant","message":{"content":[{"type":"text","text":"say ` + hostile + `"},{"type":"tool_use","name":"Bash` + hostile + `","input":{"command":"echo ` + hostile + `"}}]}}
{"type":"user","message":{"content":[{"type":"tool_result","content":"out ` + hostile + `"}]}}
{"type":"user","message":{"content":"prompt ` + hostile + `"}}
{"type":"result","subtype":"x` + hostile + `","is_error":true,"result":"end ` + hostile + `"}
not json ` + "\x1b]52;c;aGk=\x07\x1b[2J\u202e\xff" + `
`
	paintRE := regexp.MustCompile(`\x1b\[(2|31|0)m`)
	for _, color := range []bool{false, true} {
		var out bytes.Buffer
		if err := renderConversation(&out, strings.NewReader(stream), color); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if color {
			if !paintRE.MatchString(text) {
				t.Errorf("no colour in %q", text)
			}
			text = paintRE.ReplaceAllString(text, "")
		}
		if strings.ContainsAny(text, "\x1b\x07\u202e\u009b") {
			t.Errorf("colour %v: the terminal would obey %q", color, text)
		}
		for _, w := range []string{`say \x1b]52;c;aGk=\x07\x1b]0;pwned\x1b\\x1b[2J\x1b[H\u202eevil\u009b1m`, `Bash\x1b]52`, `echo \x1b]52`,
			`out \x1b]52`, `prompt \x1b]52`, `end \x1b]52`, `failed (x\x1b]52`, `not json \x1b]52;c;aGk=\x07\x1b[2J\u202e\xff`} {
			if !strings.Contains(text, w) {
				t.Errorf("colour %v: %q lacks %q", color, text, w)
			}
		}
	}
}

// -f renders each line as soon as it is whole.
func TestRenderConversationFollows(t *testing.T) {
	pr, pw := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- renderConversation(outW, pr, false); outW.Close() }()
	lines := bufio.NewReader(outR)
	for _, step := range []struct{ in, want string }{
		{`{"type":"assistant","message":{"content":[{"type":"text","text":"one"}]}}` + "\n", "● one\n"},
		{`{"type":"assistant","message":{"content":[{"type":"text",`, ""},
		{`"text":"two"}]}}` + "\n", "● two\n"},
	} {
		// In order: the renderer reads each write whole before it returns.
		if _, err := pw.Write([]byte(step.in)); err != nil {
			t.Fatal(err)
		}
		if step.want == "" {
			continue
		}
		got := make(chan string, 1)
		go func() { l, _ := lines.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			if l != step.want {
				t.Errorf("rendered %q, want %q", l, step.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q was not rendered as it came", step.want)
		}
	}
	pw.Close()
	go func() { _, _ = io.Copy(io.Discard, lines) }() // whatever it writes at the end
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReadLine(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("short\r\n"+strings.Repeat("x", 100)+"\nlast"), 16)
	for _, want := range []struct {
		line    string
		tooLong bool
	}{{"short", false}, {"", true}, {"last", false}} {
		line, tooLong, _ := readLine(br, 50)
		if string(line) != want.line || tooLong != want.tooLong {
			t.Errorf("readLine = %q, %v; want %q, %v", line, tooLong, want.line, want.tooLong)
		}
	}
}

func TestToolSummary(t *testing.T) {
	for _, tt := range []struct{ name, input, want string }{
		{"Bash", `{"command":"go test ./...","description":"test"}`, "go test ./..."},
		{"Bash", `{"command":"a\nb"}`, `a\nb`},
		{"Edit", `{"file_path":"/w/x.go","old_string":"a","new_string":"b"}`, "/w/x.go"},
		{"Grep", `{"pattern":"TODO","path":"/w"}`, "TODO in /w"},
		{"WebFetch", `{"url":"https://example.com","prompt":"read"}`, "https://example.com"},
		{"TodoWrite", `{"todos":[{},{},{}]}`, "3 todos"},
		{"mcp__clauderon__create_session", `{"name":"child","prompt":"hi"}`, "child"},
		{"Other", `{"z":1}`, `{"z":1}`},
		{"Other", `{}`, ""},
		{"Bash", `{"command":"` + strings.Repeat("y", 300) + `"}`, strings.Repeat("y", maxSummaryRunes-1) + "…"},
	} {
		if got := toolSummary(tt.name, []byte(tt.input)); got != tt.want {
			t.Errorf("toolSummary(%s, %s) = %q, want %q", tt.name, tt.input, got, tt.want)
		}
	}
}

// A line that is not stream-json is cut at maxPlainLine bytes, on a rune.
func TestRenderConversationCutsPlainLines(t *testing.T) {
	long := "x" + strings.Repeat("é", 20000) + "\x1b[2J"
	var out bytes.Buffer
	if err := renderConversation(&out, strings.NewReader("short\n"+long+"\n"), false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != "short" {
		t.Fatalf("got %q", out.String())
	}
	shown, more, ok := strings.Cut(lines[1], "… ")
	if !ok || len(shown) > maxPlainLine || len(shown) < maxPlainLine-4 || !utf8.ValidString(shown) || strings.Contains(lines[1], "\x1b") {
		t.Fatalf("line %d bytes: %q…", len(lines[1]), lines[1][max(len(lines[1])-80, 0):])
	}
	if want := fmt.Sprintf("%d more bytes (clauderon logs --raw)", len(long)-len(shown)); more != want {
		t.Errorf("got %q, want %q", more, want)
	}
}
