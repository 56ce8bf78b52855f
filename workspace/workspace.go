// Package workspace makes the copy of a project that a session works on, and
// reads the agent's work back from it (diff, land, apply) without executing
// anything the agent wrote and without following a link out of it.
package workspace

import (
	"errors"
	"fmt"

	"github.com/clauderon/clauderon/api"
)

// Errors callers tell apart; the session package maps each to one of its kinds.
var (
	ErrInvalid  = errors.New("invalid workspace request") // a bad ref, branch name, glob, or source
	ErrTooBig   = errors.New("directory too large to copy")
	ErrConflict = errors.New("conflict")             // apply: the user's tree changed; land: the branch exists
	ErrNotGit   = errors.New("not a git repository") // land of a workspace copied from a plain directory
	ErrCorrupt  = errors.New("workspace unreadable") // the agent broke or forged the workspace's repository
	ErrNoGit    = errors.New("git is not installed on this host")
)

// kindError is an error of one of the kinds above whose message is only its
// own text: users read "branch x already exists", not "conflict: branch …".
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// errorf returns an error of kind whose message is only the formatted text.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// ContainerObjects is where the user's object store is mounted, read-only, in
// the container; the workspace's objects/info/alternates names it.
const ContainerObjects = "/opt/clauderon/source-objects"

// DefaultMaxBytes bounds the copy of a directory that is not a git repository.
const DefaultMaxBytes int64 = 1 << 30

// Info is a session's workspace as the daemon keeps it (api.Workspace, in
// the session's state file and, enough to rebuild it, in its container's
// labels), with the methods that read and write it. Nothing in it comes
// from the workspace itself: the agent can forge all of that. It is a type
// of its own, not an alias, so that it can have methods; converting
// between the two is free.
type Info api.Workspace

// The wire types of the agent's work are the LocalAPI's (package api).
type (
	Mark   = api.Mark
	Change = api.FileChange
	Diff   = api.Diff
)

// CreateOptions say what to copy and where.
type CreateOptions struct {
	Source   string   // absolute, already checked by the caller's mount guard
	Dir      string   // the workspace to make; must not exist
	Branch   string   // clauderon/<name>
	From     string   // a git ref to start at instead of HEAD (then no uncommitted changes are carried)
	Includes []string // globs of ignored files to copy too (not committed to the baseline)
	MaxBytes int64    // refuse a plain directory larger than this; DefaultMaxBytes when 0
	// Chown, when >= 0, is the uid and gid every file of the workspace is given
	// (the container's user, when the daemon runs as root). WorldWritable makes
	// the workspace writable by any uid instead (a daemon that is neither root
	// nor the container's uid); the caller keeps it in a 0700 directory.
	Chown         int
	WorldWritable bool
	Progress      func(line string) // may be nil
	// CheckRepo, when set, is called once the repository (or plain
	// directory) is found and before git reads anything of it but its
	// location (no config, attributes or index); an error refuses the copy
	// and is returned as it is. The whole repository is copied, not only
	// Source, and a repository at the home directory (dotfiles) must not
	// bring the whole home along; and git obeys the config of the git
	// directory, which no container may be able to write.
	CheckRepo func(r Repo) error
}

// Repo is where the source lives, every path absolute with its symlinks
// resolved (what is checked is what is then read and mounted). For a plain
// directory only Top is set.
type Repo struct {
	Top        string // the work tree's top level, or the plain directory
	GitDir     string // the git directory (a linked worktree's own)
	CommonDir  string // the common git directory (GitDir but for a linked worktree)
	ObjectsDir string // the object store, mounted read-only in the container
}

// DiffOptions choose how much of the diff to compute.
type DiffOptions struct {
	Patches       bool // compute each file's unified diff (and line counts)
	MaxPatchBytes int  // stop adding patches past this many bytes; 8 MiB when 0
	// Cache, when set, lets the scan of the working tree skip hashing
	// files it hashed before and that did not change since (see HashCache).
	Cache *HashCache
}

// Summary is what `list` shows: how much work is not yet landed or applied.
type Summary struct {
	Files int    `json:"files"` // files changed since the baseline
	Tree  string `json:"tree"`  // the work's tree
	// OtherRefs are the workspace's branches (but HEAD's) and its stash
	// that hold commits land would not bring back: neither the baseline,
	// HEAD, the landed commit, nor one the user's repository has. The names
	// are the agent's (each at most 256 bytes): escape them to print.
	OtherRefs []string `json:"other_refs,omitempty"`
	// Unlanded: Files > 0 and Tree is neither the landed nor the applied
	// one, or there are OtherRefs.
	Unlanded bool `json:"unlanded"`
}

// LandOptions name the branch the work lands on.
type LandOptions struct {
	Branch string // clauderon/<name> when empty
	Force  bool   // overwrite an existing branch
	// Tree, when set, is the work's tree the user reviewed (40 hex digits,
	// or a prefix of at least 7): land refuses with ErrConflict if the work
	// is no longer that tree.
	Tree string
}

// ApplyOptions say what apply may write.
type ApplyOptions struct {
	Tree string // as LandOptions.Tree
}
