// Command clauderon runs Claude Code in containers that hold no real credential.
package main

import (
	"os"

	"github.com/clauderon/clauderon/cli"
)

// desktopMain, set by main_desktop.go in the desktop build, opens the app
// when clauderon runs with no arguments; the CLI-only build leaves it nil,
// so it links no Wails, WebKit or cgo.
var desktopMain func() int

func main() {
	if len(os.Args) == 1 && desktopMain != nil {
		os.Exit(desktopMain())
	}
	os.Exit(cli.Main(os.Args[1:]))
}
