package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/clauderon/clauderon/api"
)

// HookURL is where `clauderon hook` reports: the proxy serves the name
// itself, for the session whose credential the request carries.
const HookURL = "http://clauderon.internal/hook"

// HookTimeout bounds a report: a hook that cannot report gives up well
// before Claude Code's own timeout for it.
const HookTimeout = 2 * time.Second

// maxHookInput bounds what is read of a hook's input (a PostToolUse
// carries the tool's whole output, which is not needed).
const maxHookInput = 4 << 20

// hookInput is what a report takes from Claude Code's hook input.
type hookInput struct {
	Event        string `json:"hook_event_name"`
	Tool         string `json:"tool_name"`
	Notification string `json:"notification_type"`
}

// Hook is `clauderon hook [EVENT]`, which Claude Code runs at each of the
// session's hook events (session/hooks.go): it reads the hook's JSON on
// stdin and reports the event and tool name to HookURL through the
// container's proxy ($HTTP_PROXY, which names the session's credential).
// It never writes to stdout (Claude Code would read that as the hook's
// answer), and its caller exits 0 whatever it returns, so a report that
// fails never stops the agent.
func Hook(ctx context.Context, args []string, stdin io.Reader, getenv func(string) string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	in := hookReadInput(stdin)
	rep := api.HookReport{Event: in.Event, Tool: clip(in.Tool, api.MaxToolName), Notification: clip(in.Notification, 64)}
	if len(args) > 0 {
		rep.Event = args[0] // as configured, even when the input did not parse
	}
	rep.Event = clip(rep.Event, 64)
	if rep.Event == "" {
		return errors.New("no hook event")
	}
	proxyURL := ""
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		if proxyURL = getenv(k); proxyURL != "" {
			break
		}
	}
	if proxyURL == "" {
		return errors.New("no proxy in the environment")
	}
	pu, err := url.Parse(proxyURL)
	if err != nil {
		return errors.New("the proxy URL does not parse") // it holds the credential: not printed
	}
	body, _ := json.Marshal(rep)
	ctx, cancel := context.WithTimeout(ctx, HookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, HookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("reporting the hook: %w", errors.Unwrap(err)) // url.Error would name the URL only
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("reporting the hook: %s", resp.Status)
	}
	return nil
}

// hookReadInput parses the hook's input as far as it can; what it cannot
// read is left empty. The rest of stdin is drained, so Claude Code's write
// never meets a closed pipe.
func hookReadInput(stdin io.Reader) hookInput {
	var in hookInput
	b, _ := io.ReadAll(io.LimitReader(stdin, maxHookInput))
	_ = json.Unmarshal(b, &in)
	_, _ = io.Copy(io.Discard, stdin)
	return in
}

// clip cuts s to at most n bytes; the daemon refuses what is not ASCII.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
