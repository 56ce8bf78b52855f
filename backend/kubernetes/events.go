package kubernetes

import (
	"context"

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
	send := func(pod *corev1.Pod, action string) error {
		select {
		case out <- backend.Event{ID: pod.Name, Action: action, Labels: labelsOf(pod)}:
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
		return nil
	}
	gone := func(pod *corev1.Pod) error {
		prev, seen := known[pod.Name]
		if !seen {
			return nil
		}
		delete(known, pod.Name)
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

	watching:
		for {
			w, err := pods.Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					break watching
				}
				return b.wrap(err, "events: watch pods")
			}
			for ev := range w.ResultChan() {
				if ev.Type == watch.Error {
					w.Stop()
					if err := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
						break watching
					} else {
						return b.wrap(err, "events: watch pods")
					}
				}
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = pod.ResourceVersion
				if ev.Type == watch.Bookmark || !match(pod) {
					continue
				}
				var err error
				if ev.Type == watch.Deleted {
					err = gone(pod)
				} else {
					err = update(pod)
				}
				if err != nil {
					w.Stop()
					return err
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The server ended the watch: resume from where it was.
		}
	}
}
