package benchutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
)

// CreateAll makes a print session of each name through bin's CLI for home,
// par at a time, each `create --print --wait --no-workdir --name NAME
// --prompt hello` followed by args; progress is told every 20. It stops
// starting new ones at the first failure and returns every failure.
func CreateAll(ctx context.Context, bin, home string, names []string, par int, progress func(done, n int), args ...string) error {
	var mu sync.Mutex
	var errs []error
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(errs) > 0
	}
	next := make(chan string)
	var wg sync.WaitGroup
	for range max(par, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				argv := append([]string{"create", "--print", "--wait", "--no-workdir", "--name", name, "--prompt", "hello"}, args...)
				cmd := exec.CommandContext(ctx, bin, argv...)
				cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home)
				if out, err := cmd.CombinedOutput(); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("create %s: %v\n%q", name, err, out))
					mu.Unlock()
				}
			}
		}()
	}
	for i, name := range names {
		if i > 0 && i%20 == 0 && progress != nil {
			progress(i, len(names))
		}
		if failed() {
			break
		}
		next <- name
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
