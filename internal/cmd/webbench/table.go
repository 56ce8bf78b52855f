package main

import (
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"
)

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func printTable(b *bench, load []loadRound, ev eventRounds) {
	pick := func(f func(loadRound) time.Duration) []time.Duration {
		var out []time.Duration
		for _, r := range load {
			out = append(out, f(r))
		}
		return out
	}
	bytes := make([]time.Duration, 0, len(load)) // sorted as durations: same order
	reqs := 0
	for _, r := range load {
		bytes = append(bytes, time.Duration(r.bytes))
		reqs = max(reqs, r.requests)
	}
	fmt.Printf("web UI: headless chromium on loopback, a real daemon with %d sessions (%d print sessions that exited, 1 interactive), %d rounds each\n",
		b.sessions+1, b.sessions, b.rounds)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measurement\tp50\tp90\tgoal\t")
	row := func(name string, ds []time.Duration, goal string) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", name, round(pct(ds, 50)), round(pct(ds, 90)), goal)
	}
	row("cold load: first paint", pick(func(r loadRound) time.Duration { return r.firstPaint }), "< 300 ms")
	row("cold load: first contentful paint", pick(func(r loadRound) time.Duration { return r.fcp }), "")
	row(fmt.Sprintf("cold load: list of %d sessions ready", b.sessions+1), pick(func(r loadRound) time.Duration { return r.ready }), "")
	fmt.Fprintf(w, "cold load: bytes transferred (%d requests)\t%.1f KB\t%.1f KB\t< 600 KB\t\n", reqs, float64(pct(bytes, 50))/1000, float64(pct(bytes, 90))/1000)
	for _, set := range []struct {
		name string
		r    eventRows
	}{{"settled (2 s after the last change)", ev.settled}, {"back to back (each event as soon as the page showed the last)", ev.backToBack}} {
		if len(set.r.dieDOM) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s, %d rounds\t\t\t\t\n", set.name, len(set.r.dieDOM))
		row("  engine die (docker kill) → DOM", set.r.dieDOM, "< 100 ms")
		row("  engine start (docker start) → DOM", set.r.startDOM, "< 100 ms")
		row("  for reference: die → events subscriber on the socket", set.r.dieSub, "")
		row("  for reference: start → events subscriber on the socket", set.r.startSub, "")
	}
	w.Flush()
}

func round(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}
