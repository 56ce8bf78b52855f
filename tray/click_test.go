//go:build !nosystray

package tray

import (
	"testing"
	"time"
)

// TestClickSettles: a click on a slot that has just come to show another
// session does nothing (it may be meant for the one shown before); once
// the slot has settled it acts on the session it shows.
func TestClickSettles(t *testing.T) {
	now := time.Now()
	s := &shown{last: menu{items: []item{{name: "a"}, {name: "b"}}}, renamed: map[int]time.Time{1: now}}
	if it, ok := s.targetLocked(0, now); !ok || it.name != "a" {
		t.Errorf("a settled slot: %+v %v, want a", it, ok)
	}
	if _, ok := s.targetLocked(1, now.Add(settle/2)); ok {
		t.Error("a slot that changed sessions a moment ago acted on a click")
	}
	if it, ok := s.targetLocked(1, now.Add(settle)); !ok || it.name != "b" {
		t.Errorf("after settling: %+v %v, want b", it, ok)
	}
	if _, ok := s.targetLocked(2, now); ok {
		t.Error("a hidden slot acted on a click")
	}
}
