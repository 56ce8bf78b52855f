package api

import "time"

// Workspace is what the daemon keeps about one session's workspace, in the
// session's state file and (enough to rebuild it) in its container's
// labels. Nothing in it comes from the workspace itself: the agent can forge
// all of that.
type Workspace struct {
	Dir        string `json:"dir"`                   // $CLAUDERON_HOME/workspaces/<name>
	Source     string `json:"source"`                // the user's repository (its top level), or the plain directory that was copied
	Git        bool   `json:"git"`                   // Source is a git repository
	GitDir     string `json:"git_dir,omitempty"`     // the user's git directory (absolute; a linked worktree's own)
	CommonDir  string `json:"common_dir,omitempty"`  // the user's common git directory (refs, config), GitDir but for a linked worktree
	ObjectsDir string `json:"objects_dir,omitempty"` // the user's object store, mounted read-only in the container
	Subdir     string `json:"subdir,omitempty"`      // the requested workdir relative to Source; "" for the top
	Branch     string `json:"branch"`                // the workspace's branch, clauderon/<name>
	Base       string `json:"base,omitempty"`        // the commit the session started from (HEAD or --from); "" when none
	Baseline   string `json:"baseline"`              // the commit diffs are taken against: Base plus the user's uncommitted changes
	Landed     *Mark  `json:"landed,omitempty"`      // the last land
	Applied    *Mark  `json:"applied,omitempty"`     // the last apply
}

// Mark records the work that was landed or applied, by its tree, so work done
// after it counts as unlanded again.
type Mark struct {
	Tree   string    `json:"tree"`
	Commit string    `json:"commit,omitempty"`
	Branch string    `json:"branch,omitempty"`
	At     time.Time `json:"at"`
}

// FileChange is one file's change between the baseline and the agent's work.
type FileChange struct {
	Path      string `json:"path"`
	OldPath   string `json:"old_path,omitempty"` // when renamed
	Status    string `json:"status"`             // added, modified, deleted, renamed
	OldMode   string `json:"old_mode,omitempty"` // git modes: 100644, 100755, 120000
	NewMode   string `json:"new_mode,omitempty"`
	Binary    bool   `json:"binary,omitempty"`
	OldSize   int64  `json:"old_size"`
	NewSize   int64  `json:"new_size"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
	Patch     string `json:"patch,omitempty"` // unified diff of this file; empty for binary files and without patches
}

// Diff is the agent's work since the baseline: its commits and what it left
// uncommitted, as one set of file changes. The answer of GET
// /sessions/{name}/diff.
type Diff struct {
	Baseline    string       `json:"baseline"`
	Head        string       `json:"head"`        // the workspace's HEAD commit
	Tree        string       `json:"tree"`        // the tree of HEAD plus the uncommitted changes
	Commits     int          `json:"commits"`     // commits on top of the baseline
	Uncommitted bool         `json:"uncommitted"` // the working tree differs from HEAD
	Files       []FileChange `json:"files"`
	Additions   int          `json:"additions"`
	Deletions   int          `json:"deletions"`
	Truncated   bool         `json:"truncated,omitempty"` // patches stopped at the size asked for
}

// Land is the body of POST /sessions/{name}/land.
type Land struct {
	Branch string `json:"branch,omitempty"` // clauderon/<name> when empty
	Force  bool   `json:"force,omitempty"`  // overwrite an existing branch
	// Tree is the work's tree the caller reviewed (Diff.Tree, or a prefix of
	// at least 7 hex digits): the land is refused if the work changed since.
	// Required while the session runs.
	Tree string `json:"tree,omitempty"`
}

// Apply is the body of POST /sessions/{name}/apply (optional).
type Apply struct {
	Tree string `json:"tree,omitempty"` // as Land.Tree
}

// BroughtBack is the answer of land and apply: what was brought back, where.
type BroughtBack struct {
	Session    string `json:"session"`
	Repository string `json:"repository"` // the user's repository or directory
	Mark       Mark   `json:"mark"`
}
