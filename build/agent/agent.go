// Package agent holds the Dockerfile of the default agent image and writes its build context.
package agent

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// DefaultImage is the tag `clauderon image build` gives the agent image.
const DefaultImage = "clauderon-agent:latest"

//go:embed Dockerfile
var dockerfile string

// Options choose where the image's pieces come from. The zero value builds
// the image users get: debian:bookworm-slim and the latest Claude Code from npm.
type Options struct {
	// BaseImage replaces debian:bookworm-slim, e.g. a locally imported Debian.
	BaseImage string
	// ClaudeVersion is the npm version of Claude Code to download ("" = latest).
	ClaudeVersion string
	// ClaudeBinary is a host path of a prebuilt Claude Code binary (symlinks
	// are followed); when set nothing is downloaded.
	ClaudeBinary string
}

var argValue = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]+$`)

// Dockerfile returns the Dockerfile with the defaults of its build arguments
// set from opts (so the engine needs no build arguments).
func Dockerfile(opts Options) ([]byte, error) {
	out := dockerfile
	for _, a := range []struct{ name, value string }{
		{"BASE_IMAGE", opts.BaseImage},
		{"CLAUDE_CODE_VERSION", opts.ClaudeVersion},
	} {
		if a.value == "" {
			continue
		}
		if !argValue.MatchString(a.value) {
			return nil, fmt.Errorf("agent image: invalid %s %q", a.name, a.value)
		}
		re := regexp.MustCompile(`(?m)^ARG ` + a.name + `=.*$`)
		out = re.ReplaceAllLiteralString(out, "ARG "+a.name+"="+a.value)
	}
	return []byte(out), nil
}

// WriteContext writes the build context into dir (which must exist and be
// empty): the Dockerfile and local/, holding the prebuilt binary if any. The
// binary is hard-linked when it can be, copied otherwise.
func WriteContext(dir string, opts Options) error {
	df, err := Dockerfile(opts)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), df, 0o644); err != nil {
		return err
	}
	local := filepath.Join(dir, "local")
	if err := os.Mkdir(local, 0o755); err != nil {
		return err
	}
	if opts.ClaudeBinary == "" {
		return nil
	}
	src, err := filepath.EvalSymlinks(opts.ClaudeBinary)
	if err != nil {
		return fmt.Errorf("claude binary: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("claude binary: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("claude binary %s: not an executable file", src)
	}
	dst := filepath.Join(local, "claude")
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyExecutable(src, dst)
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
