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
	var found *Result
	_ = eachLine(r, maxResultLine, func(line []byte) {
		i := bytes.IndexByte(line, '{')
		if i < 0 {
			return
		}
		if bytes.Contains(line, []byte(`"init"`)) {
			var h struct{ Type, Subtype string }
			if json.Unmarshal(line[i:], &h) == nil && h.Type == "system" && h.Subtype == "init" {
				found = nil
				return
			}
		}
		if !bytes.Contains(line, []byte(`"result"`)) {
			return
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
			return
		}
		found = &Result{Text: m.Result, IsError: m.IsError, Subtype: m.Subtype, CostUSD: m.TotalCostUSD,
			NumTurns: m.NumTurns, DurationMS: m.DurationMS, ClaudeSessID: m.SessionID}
	})
	return found, found != nil
}

// maxResultLine bounds a line ParseResult reads; a longer one is skipped.
const maxResultLine = 16 << 20

// eachLine calls f with each line of r (without its newline), skipping
// lines longer than max rather than stopping at them, until r ends.
func eachLine(r io.Reader, max int, f func(line []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	skipping := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !skipping {
			if len(line)+len(chunk) > max+1 {
				line, skipping = line[:0], true
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if !skipping && len(line) > 0 {
			f(bytes.TrimSuffix(line, []byte("\n")))
		}
		line, skipping = line[:0], false
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
