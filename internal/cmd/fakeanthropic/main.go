// Command fakeanthropic runs the local fake Anthropic upstream until killed,
// printing its address and CA file, and each request it sees. For benchmarks
// and manual checks; never for production.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

func main() {
	dir, err := os.MkdirTemp("", "fakeanthropic")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	s, err := fakeanthropic.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	fmt.Printf("addr=%s\nca_file=%s\n", s.Addr, s.CAFile)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	seen := 0
	t := time.NewTicker(200 * time.Millisecond)
	for {
		select {
		case <-sig:
			return
		case <-t.C:
			reqs := s.Requests()
			for _, r := range reqs[seen:] {
				fmt.Fprintf(os.Stderr, "%s %s auth=%q key=%q beta=%q body=%.300s\n", r.Method, r.Path, r.Authorization, r.APIKey, r.Beta, r.Body)
			}
			seen = len(reqs)
		}
	}
}
