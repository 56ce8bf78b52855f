// Package benchsessions makes the sessions the UI benchmarks list: n
// print sessions that ran once and exited, and one interactive session.
package benchsessions

import (
	"fmt"
	"sync"
)

// Make runs `clauderon create` through run: n print sessions named
// prefix-00, prefix-01, … (three at a time: the machine's cores are few),
// then the interactive session live, all of image without a workdir.
func Make(run func(args ...string) error, prefix, live, image string, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 3)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- run("create", "--print", "--wait", "--name", fmt.Sprintf("%s-%02d", prefix, i), "--prompt", "hello", "--image", image, "--no-workdir")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return run("create", "--name", live, "--prompt", "hello", "--image", image, "--no-workdir")
}
