// Command testimage builds the e2e test image (internal/testimage) unless
// the engine has it, and prints its tag: scripts/test.sh loads that same
// image into the Kubernetes test cluster, so the cluster's tests and the
// Docker e2e tests share one build.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/clauderon/clauderon/internal/testimage"
)

func main() {
	tag, err := testimage.Build(context.Background(), func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "testimage:", err)
		os.Exit(1)
	}
	fmt.Println(tag)
}
