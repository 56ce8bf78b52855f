package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// logs --json gives every line as JSON, none of it able to drive a
// terminal: JSON lines as they are (C1 controls escaped), others wrapped.
func TestCopyJSONLines(t *testing.T) {
	in := `{"type":"assistant","text":"hi ` + "\u009b?1049h" + `\u001b]52;c;aGk=\u0007"}` + "\n" +
		"\n" +
		"gateway: \x1b]52;c;aGk=\x07 and \u009d0;pwned\u009c \u202e\xff\r\n" +
		`{"type":"result","result":"ok"}` // no newline at the end
	var out bytes.Buffer
	if err := copyJSONLines(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\u009b\u009d\u009c\u202e\r") || strings.Contains(got, "\xff") {
		t.Errorf("the terminal would obey %q", got)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), got)
	}
	var v []map[string]string
	for _, l := range lines {
		var m map[string]string
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		v = append(v, m)
	}
	if v[0]["type"] != "assistant" || v[0]["text"] != "hi \u009b?1049h\x1b]52;c;aGk=\x07" {
		t.Errorf("JSON line: %q", v[0])
	}
	if v[1]["type"] != "clauderon_output" || v[1]["text"] != "gateway: \x1b]52;c;aGk=\x07 and \u009d0;pwned\u009c \u202e\uFFFD" {
		t.Errorf("other line: %q", v[1])
	}
	if lines[2] != `{"type":"result","result":"ok"}` {
		t.Errorf("last line: %q", lines[2])
	}
}
