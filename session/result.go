package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// ParseResult finds the last {"type":"result",…} line of Claude Code's
// stream-json output, after its last {"type":"system","subtype":"init"}
// line: a session that ran several turns (continue) has the output of each
// in its log, and a turn that ended without a result has none.
func ParseResult(r io.Reader) (*Result, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var found *Result
	for sc.Scan() {
		line := sc.Bytes()
		i := bytes.IndexByte(line, '{')
		if i < 0 {
			continue
		}
		if bytes.Contains(line, []byte(`"init"`)) {
			var h struct{ Type, Subtype string }
			if json.Unmarshal(line[i:], &h) == nil && h.Type == "system" && h.Subtype == "init" {
				found = nil
				continue
			}
		}
		if !bytes.Contains(line, []byte(`"result"`)) {
			continue
		}
		var m struct {
			Type         string  `json:"type"`
			Subtype      string  `json:"subtype"`
			IsError      bool    `json:"is_error"`
			Result       string  `json:"result"`
			TotalCostUSD float64 `json:"total_cost_usd"`
			NumTurns     int     `json:"num_turns"`
			DurationMS   int64   `json:"duration_ms"`
			SessionID    string  `json:"session_id"`
		}
		if json.Unmarshal(line[i:], &m) != nil || m.Type != "result" {
			continue
		}
		found = &Result{Text: m.Result, IsError: m.IsError, Subtype: m.Subtype, CostUSD: m.TotalCostUSD,
			NumTurns: m.NumTurns, DurationMS: m.DurationMS, ClaudeSessID: m.SessionID}
	}
	return found, found != nil
}
