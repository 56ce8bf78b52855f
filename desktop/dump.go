package desktop

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

// DumpEnv names a file the app appends the frontend's reports to, one JSON
// line each (a Dumped): the window test and desktopbench read what the
// window shows from it. Unset, the frontend sends no report at all.
const DumpEnv = "CLAUDERON_DESKTOP_TEST_DUMP"

// Dumped is one line of the DumpEnv file.
type Dumped struct {
	// Time is when the report reached Go, in Unix nanoseconds.
	Time   int64  `json:"time"`
	PID    int    `json:"pid"`
	Report Report `json:"report"`
}

type dumper struct {
	mu sync.Mutex
	f  *os.File
}

func newDumper(path string) (*dumper, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &dumper{f: f}, nil
}

func (d *dumper) report(r Report) {
	b, err := json.Marshal(Dumped{Time: time.Now().UnixNano(), PID: os.Getpid(), Report: r})
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// One write per line, so a reader never sees half of one.
	_, _ = d.f.Write(append(b, '\n'))
}

func (d *dumper) close() { d.f.Close() }
