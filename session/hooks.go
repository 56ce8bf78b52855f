package session

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/gateway"
)

// Claude Code reads every file in its managed settings' drop-in directory,
// merged over the image's own managed settings (which this does not
// replace) and the user's. A gateway session's hook settings are mounted
// there read-only, from a file the daemon wrote: nothing in the container
// can change what clauderon configured, and the hook command is the
// gateway's own static binary, so it runs in any image.
const (
	HookSettingsName   = "hooks.json"
	ContainerHookFile  = "/etc/claude-code/managed-settings.d/50-clauderon-hooks.json"
	hookCommandTimeout = 5 // seconds; the command itself gives up sooner
)

// hookEvents are the events whose hooks report activity.
var hookEvents = []string{
	api.HookSessionStart, api.HookUserPromptSubmit, api.HookPreToolUse,
	api.HookPostToolUse, api.HookNotification, api.HookStop,
}

// hookSettings is the settings file that runs `clauderon hook EVENT` at
// each of hookEvents.
func hookSettings() []byte {
	hooks := map[string]any{}
	for _, ev := range hookEvents {
		hooks[ev] = []any{map[string]any{"hooks": []any{map[string]any{
			"type": "command", "command": gateway.Binary + " hook " + ev, "timeout": hookCommandTimeout,
		}}}}
	}
	b, _ := json.MarshalIndent(map[string]any{"hooks": hooks}, "", "  ")
	return append(b, '\n')
}

// writeHookSettings writes a session's hook settings into its directory.
func writeHookSettings(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	p := filepath.Join(dir, HookSettingsName)
	if err := os.WriteFile(p, hookSettings(), 0o644); err != nil {
		return err
	}
	return os.Chmod(p, 0o644)
}

// hookSettingsMount mounts the hook settings of the session whose
// directory is dir.
func hookSettingsMount(dir string) backend.Mount {
	return backend.Mount{Source: filepath.Join(dir, HookSettingsName), Target: ContainerHookFile, ReadOnly: true}
}
