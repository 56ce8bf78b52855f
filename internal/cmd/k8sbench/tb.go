package main

import (
	"fmt"
	"sync"
	"testing"
)

// benchTB lets this command call internal/k8stest, whose helpers take a
// testing.TB: the embedded (nil) interface supplies TB's unexported
// method, and only what those helpers call is implemented. Errorf records,
// Fatal panics with a fatal that try turns back into an error, Cleanup
// funcs run at cleanup, last first.
type benchTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []error
	cleanups []func()
}

type fatal struct{ err error }

func (t *benchTB) Helper() {}

func (t *benchTB) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, fmt.Errorf(format, args...))
}

func (t *benchTB) Fatal(args ...any) { panic(fatal{fmt.Errorf("%s", fmt.Sprint(args...))}) }

func (t *benchTB) Fatalf(format string, args ...any) { panic(fatal{fmt.Errorf(format, args...)}) }

func (t *benchTB) Skip(args ...any) { panic(fatal{fmt.Errorf("skipped: %s", fmt.Sprint(args...))}) }

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// try runs f, turning a Fatal inside it into its error.
func (t *benchTB) try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fl, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			err = fl.err
		}
	}()
	f()
	return nil
}

// cleanup runs the Cleanup funcs, last first.
func (t *benchTB) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
