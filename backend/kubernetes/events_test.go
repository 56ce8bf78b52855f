package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func fakePod(name, rv string, state corev1.ContainerState) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), ResourceVersion: rv,
			Labels:      map[string]string{"dev.clauderon.managed": "1"},
			Annotations: map[string]string{LabelsAnnotation: `{"dev.clauderon.managed":"1","dev.clauderon.session":"` + name + `"}`}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: ContainerName, Image: "img"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: ContainerName, State: state}}},
	}
}

var (
	running    = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	terminated = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, StartedAt: metav1.Now(), FinishedAt: metav1.Now()}}
)

// TestEventsResumeAfterExpiry needs no cluster: a fake clientset's watch
// expires (410 Gone) and Events lists again, sending what changed meanwhile.
func TestEventsResumeAfterExpiry(t *testing.T) {
	cs := fake.NewClientset()
	lists := []*corev1.PodList{
		{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{*fakePod("a", "1", running)}},
		{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []corev1.Pod{*fakePod("b", "8", running)}},
	}
	var selectors []string
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		selectors = append(selectors, a.(k8stesting.ListAction).GetListRestrictions().Labels.String())
		l := lists[0]
		if len(lists) > 1 {
			lists = lists[1:]
		}
		return true, l, nil
	})
	watchers := make(chan *watch.FakeWatcher, 2)
	var rvs []string
	cs.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		rvs = append(rvs, a.(k8stesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		w := watch.NewFakeWithChanSize(4, false)
		watchers <- w
		return true, w, nil
	})
	b := &Backend{cfg: &rest.Config{Host: "fake"}, cs: cs, ns: "ns"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, errc := b.Events(ctx, map[string]string{"dev.clauderon.managed": "1", "dev.clauderon.workdir": "/not/a/label"})
	var got []string
	next := func() {
		t.Helper()
		select {
		case ev := <-events:
			got = append(got, ev.Action+":"+ev.ID+":"+ev.Labels["dev.clauderon.session"])
		case <-ctx.Done():
			t.Fatalf("no event after %v", got)
		}
	}
	w := <-watchers
	// The workdir label is not one the server can select on, and no pod has it.
	w.Modify(fakePod("a", "2", terminated))
	select {
	case ev := <-events:
		t.Fatalf("event for a pod the labels do not match: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	for range events {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("ended with %v", err)
	}

	// Now with labels the pods have.
	lists = []*corev1.PodList{
		{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{*fakePod("a", "1", running)}},
		{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []corev1.Pod{*fakePod("b", "8", running)}},
	}
	selectors, rvs = nil, nil
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, errc = b.Events(ctx, map[string]string{"dev.clauderon.managed": "1"})
	w = <-watchers
	w.Modify(fakePod("a", "2", running)) // no change: nothing sent
	w.Modify(fakePod("a", "3", terminated))
	next()
	w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	next()
	next()
	next()
	w = <-watchers
	w.Add(fakePod("c", "10", terminated)) // ran between two updates: start then die
	next()
	next()
	next()
	w.Stop() // the server ends the watch: resumed where it was
	w = <-watchers
	w.Delete(fakePod("b", "11", running))
	next()
	next()
	want := "die:a:a,create:b:b,start:b:b,destroy:a:a,create:c:c,start:c:c,die:c:c,die:b:b,destroy:b:b"
	if s := strings.Join(got, ","); s != want {
		t.Errorf("events\n got %s\nwant %s", s, want)
	}
	if s := strings.Join(rvs, ","); s != "1,9,10" {
		t.Errorf("watched from %s, want 1,9,10", s)
	}
	if s := strings.Join(selectors, ","); s != "dev.clauderon.managed=1,dev.clauderon.managed=1" {
		t.Errorf("selectors %s", s)
	}
	cancel()
	for range events {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("ended with %v", err)
	}
}
