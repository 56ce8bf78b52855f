// Command clauderon runs Claude Code in containers that hold no real credential.
package main

import (
	"os"

	"github.com/clauderon/clauderon/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:]))
}
