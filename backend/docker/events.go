package docker

import (
	"context"

	"github.com/docker/docker/api/types/events"

	"github.com/clauderon/clauderon/backend"
)

// eventAttributes are the attributes the engine adds to a container event
// beside the container's labels.
var eventAttributes = map[string]bool{"name": true, "image": true, "exitCode": true, "signal": true, "execDuration": true}

// Events streams lifecycle events of containers carrying every label in
// labels. The event channel is closed when the stream ends; the error channel
// then holds exactly one error saying why (ctx.Err() when ctx ended) and is closed.
func (b *Backend) Events(ctx context.Context, labels map[string]string) (<-chan backend.Event, <-chan error) {
	f := labelFilters(labels)
	f.Add("type", string(events.ContainerEventType))
	msgs, errs := b.cli.Events(ctx, events.ListOptions{Filters: f})

	out := make(chan backend.Event)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		for {
			select {
			case m := <-msgs:
				select {
				case out <- toEvent(m):
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			case err := <-errs:
				if ctx.Err() != nil {
					err = ctx.Err()
				} else {
					err = b.wrap(err, "events")
				}
				errc <- err
				return
			}
		}
	}()
	return out, errc
}

func toEvent(m events.Message) backend.Event {
	ev := backend.Event{ID: m.Actor.ID, Action: string(m.Action), Labels: map[string]string{}}
	for k, v := range m.Actor.Attributes {
		if !eventAttributes[k] {
			ev.Labels[k] = v
		}
	}
	return ev
}
