package kubernetes

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/clauderon/clauderon/backend"
)

// phase orders what an Event can say about a pod.
type phase int

const (
	phaseCreated phase = iota
	phaseRunning
	phaseExited
)

func phaseOf(pod *corev1.Pod) phase {
	cs := mainStatus(pod)
	switch {
	case cs != nil && cs.State.Terminated != nil:
		return phaseExited
	case cs != nil && cs.State.Running != nil:
		return phaseRunning
	}
	return phaseCreated
}

// Events streams lifecycle events of Pods carrying every label in labels,
// from a watch (not polling): create, start (the container runs), die (it
// has exited) and destroy (the Pod is gone). A container that ran between
// two updates the watch saw gets both start and die, in that order. The
// event channel is closed when the stream ends; the error channel then holds
// exactly one error saying why (ctx.Err() when ctx ended) and is closed. An
// expired watch is resumed from a fresh list, its differences sent as events.
func (b *Backend) Events(ctx context.Context, labels map[string]string) (<-chan backend.Event, <-chan error) {
	out := make(chan backend.Event)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		if err := b.events(ctx, labels, out); ctx.Err() != nil {
			errc <- ctx.Err()
		} else {
			errc <- err
		}
	}()
	return out, errc
}

func (b *Backend) events(ctx context.Context, labels map[string]string, out chan<- backend.Event) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	sel, match := selector(labels)
	known := map[string]phase{}
	labelsSeen := map[string]map[string]string{} // for a pod only a relist finds gone
	send := func(pod *corev1.Pod, action string) error {
		l := labelsOf(pod)
		if pod.UID == "" { // a relist's stand-in for a deleted pod
			l = labelsSeen[pod.Name]
		}
		select {
		case out <- backend.Event{ID: pod.Name, Action: action, Labels: l}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	update := func(pod *corev1.Pod) error {
		prev, seen := known[pod.Name]
		cur := phaseOf(pod)
		if !seen {
			if err := send(pod, "create"); err != nil {
				return err
			}
		}
		if cur >= phaseRunning && prev < phaseRunning {
			if err := send(pod, "start"); err != nil {
				return err
			}
		}
		if cur == phaseExited && prev < phaseExited {
			if err := send(pod, "die"); err != nil {
				return err
			}
		}
		known[pod.Name] = cur
		labelsSeen[pod.Name] = labelsOf(pod)
		return nil
	}
	gone := func(pod *corev1.Pod) error {
		prev, seen := known[pod.Name]
		if !seen {
			return nil
		}
		delete(known, pod.Name)
		defer delete(labelsSeen, pod.Name)
		if prev == phaseRunning {
			if err := send(pod, "die"); err != nil {
				return err
			}
		}
		return send(pod, "destroy")
	}

	first := true
	for {
		// List, to know where the watch starts and what is already there.
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return b.wrap(err, "events: list pods")
		}
		present := map[string]bool{}
		for i := range list.Items {
			pod := &list.Items[i]
			if !match(pod) {
				continue
			}
			present[pod.Name] = true
			if first {
				known[pod.Name] = phaseOf(pod) // Docker's stream starts now: no events for the past
				labelsSeen[pod.Name] = labelsOf(pod)
			} else if err := update(pod); err != nil {
				return err
			}
		}
		for name := range known {
			if !present[name] {
				if err := gone(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
					return err
				}
			}
		}
		first = false
		rv := list.ResourceVersion

		pause := time.Duration(0)
	watching:
		for {
			began := time.Now()
			w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					break watching
				}
				return b.wrap(err, "events: watch pods")
			}
			err = b.watchOnce(ctx, w, func(ev watch.Event) error {
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					return nil
				}
				rv = pod.ResourceVersion
				if ev.Type == watch.Bookmark || !match(pod) {
					return nil
				}
				if ev.Type == watch.Deleted {
					return gone(pod)
				}
				return update(pod)
			})
			if errors.Is(err, errExpired) {
				break watching
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The server ended the watch: resume from where it was. One
			// that ends as soon as it starts (a proxy in front of the API
			// server that cuts streams) is retried ever more slowly, not
			// at the client's rate limit.
			if time.Since(began) >= rewatchQuick {
				pause = 0
				continue
			}
			pause = min(max(2*pause, rewatchFirst), rewatchMax)
			if err := rewatchPause(ctx, pause); err != nil {
				return err
			}
		}
	}
}

var errExpired = errors.New("watch expired")

// A watch that the server ends within rewatchQuick of its start is started
// again after a pause, from rewatchFirst doubling up to rewatchMax.
const (
	rewatchQuick = time.Second
	rewatchFirst = 250 * time.Millisecond
	rewatchMax   = 10 * time.Second
)

// rewatchPause waits d or until ctx ends (a variable for tests).
var rewatchPause = func(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// watchOnce hands w's events to f until w ends (nil), ctx ends, f fails, or
// the server says the watch expired (errExpired). It stops w.
func (b *Backend) watchOnce(ctx context.Context, w watch.Interface, f func(watch.Event) error) error {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil
			}
			if ev.Type == watch.Error {
				if err := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return errExpired
				} else {
					return b.wrap(err, "events: watch pods")
				}
			}
			if err := f(ev); err != nil {
				return err
			}
		}
	}
}
