package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is this build's release. A release build sets it at link time:
//
//	go build -ldflags "-X github.com/clauderon/clauderon/cli.version=v1.2.3"
//
// Otherwise it comes from the module's version in the build info (a build
// of a tagged module), else "dev".
var version string

// versionInfo is what `clauderon version` says about this binary.
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`   // vcs.revision; empty when the build recorded none
	Modified bool   `json:"modified,omitempty"` // the tree had uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// buildVersion describes a binary whose link-time version is set and whose
// build info is bi (nil when it has none).
func buildVersion(set string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: set, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

// thisVersion describes the running binary.
func thisVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return buildVersion(version, bi)
}

// String is the text of `clauderon --version` and `clauderon version`.
func (v versionInfo) String() string {
	commit := v.Commit
	switch {
	case commit == "":
		commit = "unknown (built without VCS information)"
	case v.Modified:
		commit += " (modified)"
	}
	return fmt.Sprintf("clauderon %s\ncommit    %s\ngo        %s %s\n", v.Version, commit, v.Go, v.Platform)
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print clauderon's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd.OutOrStdout(), thisVersion(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runVersion(w io.Writer, v versionInfo, asJSON bool) error {
	if asJSON {
		return printJSON(w, v)
	}
	_, err := io.WriteString(w, v.String())
	return err
}
