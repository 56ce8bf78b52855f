package cli

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestDrainThenForce(t *testing.T) {
	type sig struct {
		s  os.Signal
		at time.Duration // after the first
	}
	tests := []struct {
		name      string
		sigs      []sig
		wantForce bool
	}{
		{"one SIGINT drains", []sig{{os.Interrupt, 0}}, false},
		{"one SIGTERM drains", []sig{{syscall.SIGTERM, 0}}, false},
		{"ctrl-c under make run: SIGINT and the script's SIGTERM", []sig{{os.Interrupt, 0}, {syscall.SIGTERM, time.Millisecond}}, false},
		{"the script's SIGTERM first", []sig{{syscall.SIGTERM, 0}, {os.Interrupt, time.Millisecond}}, false},
		{"second ctrl-c under make run forces", []sig{{os.Interrupt, 0}, {syscall.SIGTERM, time.Millisecond}, {os.Interrupt, 2 * time.Second}}, true},
		{"ctrl-c twice, quickly, forces", []sig{{os.Interrupt, 0}, {os.Interrupt, 100 * time.Millisecond}}, true},
		{"SIGTERM twice forces", []sig{{syscall.SIGTERM, 0}, {syscall.SIGTERM, time.Millisecond}}, true},
		{"SIGINT, then a SIGTERM much later, forces", []sig{{os.Interrupt, 0}, {syscall.SIGTERM, 5 * time.Second}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1_000_000, 0)
			ch := make(chan os.Signal)
			clock := make(chan time.Time) // read once per signal
			drains, forces := 0, 0
			done := make(chan struct{})
			go func() {
				defer close(done)
				drainThenForce(ch, func() time.Time { return <-clock }, func() { drains++ }, func() { forces++ })
			}()
			for _, s := range tt.sigs {
				select {
				case ch <- s.s:
					clock <- start.Add(s.at)
				case <-done:
				}
			}
			close(ch)
			<-done
			if drains != 1 {
				t.Errorf("drained %d times, want once", drains)
			}
			if got := forces == 1; got != tt.wantForce {
				t.Errorf("forced %d times, want force=%v", forces, tt.wantForce)
			}
		})
	}
}
