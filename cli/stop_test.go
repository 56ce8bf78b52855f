package cli

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestBatchResultJSON: stop --json always has "sessions" and rm --json
// always has "removed", even when every name failed, and neither has the
// other's key.
func TestBatchResultJSON(t *testing.T) {
	failed := map[string]string{"nosuch": "no such session"}
	tests := []struct {
		name string
		res  batchResult
		want string
	}{
		{"stop, all failed", batchResult{Sessions: []session.Session{}, Errors: failed}, `{"sessions":[],"errors":{"nosuch":"no such session"}}`},
		{"stop, none", batchResult{Sessions: []session.Session{}}, `{"sessions":[]}`},
		{"rm, all failed", batchResult{Removed: []string{}, Errors: failed}, `{"removed":[],"errors":{"nosuch":"no such session"}}`},
		{"rm, one removed", batchResult{Removed: []string{"a"}}, `{"removed":["a"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := printJSON(&buf, tc.res); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Compact(&got, buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got.String(), tc.want)
			}
		})
	}
}
