package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
)

func fakePod(name, rv string, state corev1.ContainerState) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
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

// podAPI is an HTTP server that answers namespace ns's pod list and watch
// as the API server does, from what a test gives it, and records what the
// client asked for.
type podAPI struct {
	mu        sync.Mutex
	lists     []*corev1.PodList // each list answers one request; the last repeats
	selectors []string          // each list's label selector
	rvs       []string          // each watch's resourceVersion
	watchers  chan *podWatch
}

// podWatch is one watch request's stream: Add, Modify, Delete and Error
// send events, Stop ends the response.
type podWatch struct {
	events chan metav1.WatchEvent
	stop   chan struct{}
}

func (w *podWatch) send(t watch.EventType, o runtime.Object) {
	raw, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	w.events <- metav1.WatchEvent{Type: string(t), Object: runtime.RawExtension{Raw: raw}}
}
func (w *podWatch) Add(p *corev1.Pod)    { w.send(watch.Added, p) }
func (w *podWatch) Modify(p *corev1.Pod) { w.send(watch.Modified, p) }
func (w *podWatch) Delete(p *corev1.Pod) { w.send(watch.Deleted, p) }
func (w *podWatch) Error(s *metav1.Status) {
	s.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	w.send(watch.Error, s)
}
func (w *podWatch) Stop() { close(w.stop) }

func (a *podAPI) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != "/api/v1/namespaces/ns/pods" {
		http.Error(rw, "not served: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	rw.Header().Set("Content-Type", "application/json")
	if q.Get("watch") != "true" {
		a.mu.Lock()
		a.selectors = append(a.selectors, q.Get("labelSelector"))
		l := a.lists[0]
		if len(a.lists) > 1 {
			a.lists = a.lists[1:]
		}
		a.mu.Unlock()
		l.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}
		_ = json.NewEncoder(rw).Encode(l)
		return
	}
	a.mu.Lock()
	a.rvs = append(a.rvs, q.Get("resourceVersion"))
	a.mu.Unlock()
	w := &podWatch{events: make(chan metav1.WatchEvent), stop: make(chan struct{})}
	rw.WriteHeader(http.StatusOK)
	rw.(http.Flusher).Flush()
	select {
	case a.watchers <- w:
	case <-r.Context().Done():
		return
	}
	enc := json.NewEncoder(rw)
	for {
		select {
		case ev := <-w.events:
			_ = enc.Encode(ev)
			rw.(http.Flusher).Flush()
		case <-w.stop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

// podAPIBackend is a Backend on namespace ns of a podAPI answering lists.
func podAPIBackend(t *testing.T, lists ...*corev1.PodList) (*podAPI, *Backend) {
	t.Helper()
	api := &podAPI{watchers: make(chan *podWatch)}
	api.reset(lists)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	cs, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return api, &Backend{cfg: cfg, cs: cs, ns: "ns"}
}

func (a *podAPI) reset(lists []*corev1.PodList) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lists, a.selectors, a.rvs = lists, nil, nil
}

func (a *podAPI) asked() (selectors, rvs []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.selectors, a.rvs
}

// TestEventsResumeAfterExpiry needs no cluster: a stand-in API server's
// watch expires (410 Gone) and Events lists again, sending what changed
// meanwhile.
func TestEventsResumeAfterExpiry(t *testing.T) {
	api, b := podAPIBackend(t,
		&corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{*fakePod("a", "1", running)}},
		&corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []corev1.Pod{*fakePod("b", "8", running)}},
	)
	watchers := api.watchers
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
	api.reset([]*corev1.PodList{
		{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: []corev1.Pod{*fakePod("a", "1", running)}},
		{ListMeta: metav1.ListMeta{ResourceVersion: "9"}, Items: []corev1.Pod{*fakePod("b", "8", running)}},
	})
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
	selectors, rvs := api.asked()
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

// TestEventsRewatchBacksOff: a watch the server ends as soon as it starts
// (a proxy that cuts streams) is started again ever more slowly, not in a
// loop at the client's rate limit.
func TestEventsRewatchBacksOff(t *testing.T) {
	api, b := podAPIBackend(t, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}})
	var mu sync.Mutex
	var pauses []time.Duration
	old := rewatchPause
	rewatchPause = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		pauses = append(pauses, d)
		mu.Unlock()
		return nil
	}
	defer func() { rewatchPause = old }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, errc := b.Events(ctx, map[string]string{"dev.clauderon.managed": "1"})
	for range 8 {
		select {
		case w := <-api.watchers:
			w.Stop() // ended at once
		case <-ctx.Done():
			t.Fatal("no watch")
		}
	}
	cancel()
	for range events {
	}
	<-errc
	mu.Lock()
	defer mu.Unlock()
	if len(pauses) < 7 {
		t.Fatalf("pauses %v: a watch ended at once was started again without one", pauses)
	}
	want := []time.Duration{rewatchFirst, 2 * rewatchFirst, 4 * rewatchFirst, 8 * rewatchFirst, 16 * rewatchFirst, 32 * rewatchFirst, rewatchMax}
	for i, w := range want {
		if pauses[i] != w {
			t.Errorf("pause %d is %v, want %v (all: %v)", i, pauses[i], w, pauses)
		}
	}
}
