package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/clauderon/clauderon/internal/atomicfile"
)

// record is what the state file holds: the session plus the nonce its proxy
// credential is derived from (the nonce alone is not a secret; it is also a label).
type record struct {
	Session
	Nonce string `json:"credential_nonce"`
	// Turnable says its container's gateway reads the argv file, so it can
	// start again with another command (Continue); a session of an older
	// clauderon's, whose gateway would run its first command again, cannot.
	Turnable bool `json:"turnable,omitempty"`
	// Stopping says the user stopped the container (stop, restart), so its
	// exit is shown as stopped; it is cleared when the container runs again.
	Stopping bool `json:"stopping,omitempty"`
	// born is the manager's epoch when the container was made (not saved).
	born uint64
	// run counts the times this manager started the container again (not
	// saved): an exit read before the last start is not recorded after it.
	run uint64
	// events counts the container's start and die events (not saved): what
	// a handler learned from the engine is not applied once a later event
	// came, since handlers run apart and the engine's answer may be stale.
	events uint64
}

// store keeps one state file per session under <home>/sessions/<name>/.
type store struct{ dir string }

const (
	stateFile    = "session.json"
	activityFile = "activity.json"
)

func (st store) sessionDir(name string) string { return filepath.Join(st.dir, name) }

func (st store) save(r record) error {
	d := st.sessionDir(r.Name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(d, stateFile), b, 0o600)
}

func (st store) remove(name string) error {
	return os.RemoveAll(st.sessionDir(name))
}

// load reads every state file. A damaged file is reported, not fatal: the
// session can still be rebuilt from its container's labels.
func (st store) load() ([]record, []error) {
	ents, err := os.ReadDir(st.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{err}
	}
	var out []record
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue
		}
		p := filepath.Join(st.dir, e.Name(), stateFile)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.Name != e.Name() {
			errs = append(errs, fmt.Errorf("%s: damaged state file: %v", p, err))
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, errs
}

func (st store) saveActivity(name string, a savedActivity) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(st.sessionDir(name), activityFile), b, 0o600)
}

func (st store) removeActivity(name string) {
	os.Remove(filepath.Join(st.sessionDir(name), activityFile))
}

// loadActivity reads name's activity file; a missing or damaged one is none.
func (st store) loadActivity(name string) (savedActivity, bool) {
	var a savedActivity
	b, err := os.ReadFile(filepath.Join(st.sessionDir(name), activityFile))
	if err != nil || json.Unmarshal(b, &a) != nil {
		return savedActivity{}, false
	}
	return a, true
}
