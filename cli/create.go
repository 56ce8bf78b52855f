package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

type createFlags struct {
	name, prompt, image, workdir, from, memory string
	egress, backend                            string
	includes, mounts, allow, spawnImages       []string
	cpus                                       float64
	budgetUSD                                  float64
	budgetTokens                               int64
	spawn                                      int
	print, wait, json, noWorkdir               bool
}

func newCreateCmd() *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create --name NAME [--prompt PROMPT] [--print [--wait]]",
		Short: "Create a session: Claude Code in a container with no real credential",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCreate(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "session name: 1-40 of a-z, 0-9 and '-' (required)")
	fl.StringVar(&f.prompt, "prompt", "", "the prompt for Claude Code (required with --print)")
	fl.BoolVar(&f.print, "print", false, "run once non-interactively (claude --print) and keep the result")
	fl.StringVar(&f.image, "image", session.DefaultImage, "agent image")
	fl.StringVar(&f.workdir, "workdir", "", "project copied into the session's workspace at /workspace (default: the current directory; never your home directory, /, a system directory, or clauderon's home)")
	fl.BoolVar(&f.noWorkdir, "no-workdir", false, "give the session an empty /workspace")
	fl.StringVar(&f.from, "from", "", "start the workspace at this git branch, tag or commit instead of HEAD (your uncommitted changes are then not carried)")
	fl.StringArrayVar(&f.includes, "include", nil, "copy ignored files matching this glob too, e.g. .env.example (repeatable; the agent sees them)")
	fl.StringArrayVar(&f.mounts, "mount", nil, "bind-mount a host directory: HOST[:CONTAINER][:ro] (repeatable; writable unless :ro; HOST:/workspace replaces the workspace)")
	fl.Float64Var(&f.cpus, "cpus", 0, "CPUs the container may use, e.g. 1.5 (default: every CPU, or container.cpus in config.json)")
	fl.StringVar(&f.memory, "memory", "", "memory the container may use, e.g. 2g or 512m (default 4g, or container.memory_bytes in config.json)")
	fl.StringVar(&f.egress, "egress", "", "hosts the session may reach besides Anthropic's API: open (any), balanced (common development hosts; the default, or egress.default in config.json) or locked (only --allow)")
	fl.StringArrayVar(&f.allow, "allow", nil, "also allow this host, e.g. example.com or *.example.com (repeatable)")
	fl.IntVar(&f.spawn, "spawn", 0, "let the session's own Claude Code start at most N child sessions through clauderon's MCP tools (no token enters the container; children are capped by the session)")
	fl.StringArrayVar(&f.spawnImages, "spawn-image", nil, "an image the session's children may run besides its own (repeatable; needs --spawn)")
	fl.Float64Var(&f.budgetUSD, "budget-usd", 0, "stop the session's requests to Anthropic once it (with its children) has spent this many US dollars; change it with clauderon budget")
	fl.Int64Var(&f.budgetTokens, "budget-tokens", 0, "stop the session's requests once it (with its children) has used this many tokens (input, output and cache together)")
	fl.StringVar(&f.backend, "backend", "", "where the session runs: docker or kubernetes (default: default_backend in config.json, else docker)")
	fl.BoolVar(&f.wait, "wait", false, "wait for the session to finish and print its result")
	fl.BoolVar(&f.json, "json", false, "print the session as JSON")
	return cmd
}

func runCreate(ctx context.Context, stdout, stderr io.Writer, f createFlags) error {
	if err := session.ValidateName(f.name); err != nil {
		return err
	}
	if f.wait && !f.print {
		return errors.New("--wait needs --print: an interactive session runs until you quit it, so there is nothing to wait for; attach to it with clauderon attach NAME, or pass --print")
	}
	if f.noWorkdir && f.workdir != "" {
		return errors.New("--workdir and --no-workdir cannot be used together: pass --workdir DIR to mount DIR, or --no-workdir to mount none")
	}
	o := session.Options{Name: f.name, Prompt: f.prompt, Image: f.image, Mode: session.ModeInteractive, From: f.from, Includes: f.includes, CPUs: f.cpus,
		Egress: session.Egress{Mode: session.EgressMode(f.egress), Allow: f.allow}, Spawn: f.spawn, SpawnImages: f.spawnImages, Backend: f.backend}
	switch f.backend {
	case "", api.BackendDocker, api.BackendKubernetes:
	default:
		return fmt.Errorf("--backend %q: want docker or kubernetes", f.backend)
	}
	if f.budgetUSD < 0 || f.budgetTokens < 0 {
		return errors.New("--budget-usd and --budget-tokens cannot be negative")
	}
	o.Budget = api.Budget{USD: f.budgetUSD, Tokens: f.budgetTokens}
	if f.memory != "" {
		n, err := parseBytes(f.memory)
		if err != nil {
			return fmt.Errorf("--memory %q: %w", f.memory, err)
		}
		o.MemoryBytes = n
	}
	if f.print {
		o.Mode = session.ModePrint
	}
	cwd, _ := os.Getwd()
	for _, spec := range f.mounts {
		m, err := session.ParseMount(spec, cwd)
		if err != nil {
			return err
		}
		o.Mounts = append(o.Mounts, m)
	}
	replaced := session.MountsAt(o.Mounts, session.ContainerWorkdir)
	if replaced && f.workdir != "" {
		return fmt.Errorf("--workdir and --mount …:%s cannot be used together: the mount replaces the workspace", session.ContainerWorkdir)
	}
	defaulted := false
	if !f.noWorkdir && !replaced {
		dir := f.workdir
		if dir == "" {
			wd, err := defaultWorkdir()
			if err != nil {
				return err
			}
			dir, defaulted = wd, true
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		o.Workdir = abs
	}
	var c client.Client
	var s session.Session
	var err error
	if isTerminal(stderr) && !f.json {
		s, err = c.CreateWithProgress(ctx, o, func(line string) { fmt.Fprintln(stderr, printable(line)) })
	} else {
		s, err = c.Create(ctx, o)
	}
	if err != nil {
		if defaulted && errors.Is(err, client.ErrBadRequest) && strings.Contains(err.Error(), "workdir") {
			return fmt.Errorf("%w (the workdir is the current directory by default: %s)", err, runFromProject)
		}
		return err
	}
	if !f.wait {
		if f.json {
			return printJSON(stdout, s)
		}
		fmt.Fprintf(stdout, "created session %s (%s, %s)\n", s.Name, s.Mode, s.Status)
		if w := s.Workspace; w != nil {
			fmt.Fprintf(stderr, "workspace: a copy of %s on branch %s; review with `clauderon diff %s`, keep with `clauderon land %s` or `clauderon apply %s`\n", printable(w.Source), w.Branch, s.Name, s.Name, s.Name)
		}
		if s.Mode == session.ModeInteractive {
			fmt.Fprintf(stderr, "attach with: clauderon attach %s\n", s.Name)
		} else {
			fmt.Fprintf(stderr, "read its output with: clauderon logs %s -f\n", s.Name)
		}
		return nil
	}
	if s, err = waitFor(ctx, &c, stderr, s.Name, f.json); err != nil {
		return err
	}
	return reportFinished(stdout, stderr, s, f.json)
}

const runFromProject = "run it from a project directory or pass --workdir DIR or --no-workdir"

// defaultWorkdir is the current directory, unless that is the home
// directory or /, which the daemon refuses to mount: say what to do instead.
func defaultWorkdir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("cannot find the current directory (%v); pass --workdir DIR or --no-workdir", err)
	}
	real, err := filepath.EvalSymlinks(wd)
	if err != nil {
		real = wd
	}
	if real == "/" {
		return "", fmt.Errorf("the current directory is /, which is not mounted into a session; %s", runFromProject)
	}
	if h, err := os.UserHomeDir(); err == nil {
		if rh, err := filepath.EvalSymlinks(h); err == nil && rh == real {
			return "", fmt.Errorf("the current directory %s is your home directory, which is not mounted into a session (it holds your credentials); %s", wd, runFromProject)
		}
	}
	return wd, nil
}

// reportFinished prints a finished session's result and turns a failure
// into the process's exit status.
func reportFinished(stdout, stderr io.Writer, s session.Session, asJSON bool) error {
	if asJSON {
		if err := printJSON(stdout, s); err != nil {
			return err
		}
	} else if s.Result != nil {
		fmt.Fprintln(stdout, visible(s.Result.Text))
		fmt.Fprintf(stderr, "session %s: %d turn(s), $%.4f, %.1fs\n", s.Name, s.Result.NumTurns, s.Result.CostUSD, float64(s.Result.DurationMS)/1000)
	}
	switch {
	case s.Status == session.StatusDeleted:
		return fmt.Errorf("session %s was removed before it finished", s.Name)
	case s.Status == session.StatusFailed:
		return fmt.Errorf("session %s failed: %s", s.Name, s.Reason)
	case s.Result != nil && s.Result.IsError:
		if !asJSON {
			fmt.Fprintf(stderr, "session %s: Claude Code reported an error\n", s.Name)
		}
		return exitError{code: 1}
	case s.ExitCode != nil && *s.ExitCode != 0:
		if !asJSON {
			fmt.Fprintf(stderr, "session %s exited with code %d; see `clauderon logs %s`\n", s.Name, *s.ExitCode, s.Name)
		}
		return exitError{code: *s.ExitCode}
	case s.Mode == session.ModePrint && s.Result == nil && !asJSON:
		fmt.Fprintf(stderr, "session %s produced no result; see `clauderon logs %s`\n", s.Name, s.Name)
	}
	return nil
}

// parseBytes reads a size as docker's --memory does (512m, 2g, 1073741824;
// k, m, g, t are powers of 1024).
func parseBytes(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 || n > 1<<50 {
		return 0, errors.New("not a size: use a number of bytes, or one with k, m or g (e.g. 2g)")
	}
	return n, nil
}
