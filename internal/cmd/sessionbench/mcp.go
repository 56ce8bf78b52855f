package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// bearerRT adds the MCP token to every request.
type bearerRT struct{ token string }

func (b bearerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpRows measures list_sessions round trips over stdio (`clauderon mcp`)
// and over the daemon's HTTP endpoint, taking turns, and create_session
// (print, wait) against `clauderon create --print --wait` of the same
// session, round-robin.
func (b *bench) mcpRows(ctx context.Context) error {
	logf("mcp: connecting over stdio and HTTP")
	cmd := exec.Command(b.bin, "mcp")
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home)
	c := mcp.NewClient(&mcp.Implementation{Name: "sessionbench", Version: "1"}, nil)
	stdio, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return fmt.Errorf("clauderon mcp: %w", err)
	}
	defer stdio.Close()
	tok, err := config.MCPToken(b.home)
	if err != nil {
		return err
	}
	url := "http://127.0.0.1:" + strconv.Itoa(b.mcpPort) + "/mcp"
	web, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearerRT{tok}}}, nil)
	if err != nil {
		return fmt.Errorf("MCP over HTTP at %s: %w", url, err)
	}
	defer web.Close()
	call := func(cs *mcp.ClientSession, name string, args map[string]any) (*mcp.CallToolResult, error) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err == nil && res.IsError {
			err = errors.New(name + ": tool error")
		}
		return res, err
	}
	const n = 300
	var overStdio, overHTTP []time.Duration
	for i := range n + 20 {
		for j, cs := range []*mcp.ClientSession{stdio, web} {
			t0 := time.Now()
			if _, err := call(cs, "list_sessions", map[string]any{}); err != nil {
				return err
			}
			if i < 20 {
				continue // warm up
			}
			if j == 0 {
				overStdio = append(overStdio, time.Since(t0))
			} else {
				overHTTP = append(overHTTP, time.Since(t0))
			}
		}
	}
	work := filepath.Join(b.tmp, "mcp-work")
	if err := os.MkdirAll(work, 0o777); err != nil {
		return err
	}
	var viaMCP, viaCLI []time.Duration
	for i := range b.rounds {
		logf("mcp: create round %d/%d", i+1, b.rounds)
		steps := []func() error{
			func() error {
				name := fmt.Sprintf("bench-mcp%d", i)
				t0 := time.Now()
				res, err := call(stdio, "create_session", map[string]any{"name": name, "prompt": "hello", "image": b.image, "wait": true})
				viaMCP = append(viaMCP, time.Since(t0))
				if err == nil && !strings.Contains(fmt.Sprint(res.StructuredContent), fakeanthropic.DefaultReply) {
					err = errors.New("create_session did not return the fake's reply")
				}
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", "--discard", name))
			},
			func() error {
				name := fmt.Sprintf("bench-cli%d", i)
				d, err := b.timeCmd(b.bin, "create", "--print", "--wait", "--name", name, "--prompt", "hello", "--image", b.image, "--no-workdir")
				viaCLI = append(viaCLI, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", "--discard", name))
			},
		}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\n| MCP | clauderon | baseline | ratio | goal |\n|---|---|---|---|---|\n")
	fmt.Printf("| `list_sessions` round trip p50, stdio (%d calls) | %.2f ms | | | < 2 ms |\n", len(overStdio), pctDur(overStdio, 50))
	fmt.Printf("| `list_sessions` round trip p50, HTTP | %.2f ms | | | < 2 ms |\n", pctDur(overHTTP, 50))
	fmt.Printf("| `list_sessions` round trip p99, stdio / HTTP | %.2f ms | %.2f ms | | |\n", pctDur(overStdio, 99), pctDur(overHTTP, 99))
	fmt.Printf("| `create_session` (print, wait) vs `create --print --wait` (median of %d) | %.0f ms | %.0f ms | %.2fx | ≤ 1.05x |\n", b.rounds, median(viaMCP), median(viaCLI), median(viaMCP)/median(viaCLI))
	return nil
}

func pctDur(d []time.Duration, p int) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return float64(s[min(max(i-1, 0), len(s)-1)]) / float64(time.Millisecond)
}
