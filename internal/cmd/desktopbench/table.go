package main

import (
	"fmt"
	"slices"
	"time"
)

type results struct {
	cold   []time.Duration
	idle   rss
	listed rss
	change []time.Duration
}

func stats(ds []time.Duration) (lo, med, hi time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[0], s[len(s)/2], s[len(s)-1]
}

func (r results) print(b *bench) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds()) }
	mb := func(v int64) string { return fmt.Sprintf("%.0f MB", float64(v)/(1<<20)) }
	fmt.Printf("desktop app under Xvfb, a client of a real daemon (%d rounds)\n", b.rounds)
	lo, med, hi := stats(r.cold)
	fmt.Printf("  %-52s min %s  median %s  max %s   (goal < 1000 ms: median is %.2f× of it)\n", "cold start to the first painted view", ms(lo), ms(med), ms(hi), float64(med)/float64(time.Second))
	fmt.Printf("  %-52s RSS %s, PSS %s in %d processes   (goal < 120 MB: RSS %.2f×, PSS %.2f× of it)\n", "memory idle, app + WebKit children, no session",
		mb(r.idle.bytes), mb(r.idle.pss), r.idle.procs, float64(r.idle.bytes)/(120<<20), float64(r.idle.pss)/(120<<20))
	fmt.Printf("  %-52s RSS %s, PSS %s in %d processes   (PSS %.2f× idle)\n", fmt.Sprintf("memory with %d sessions listed (+1 interactive)", b.sessions),
		mb(r.listed.bytes), mb(r.listed.pss), r.listed.procs, float64(r.listed.pss)/float64(r.idle.pss))
	lo, med, hi = stats(r.change)
	fmt.Printf("  %-52s min %s  median %s  max %s   (goal < 300 ms: median is %.2f× of it)\n", "state change (daemon event) to the window showing it", ms(lo), ms(med), ms(hi), float64(med)/float64(300*time.Millisecond))
	fmt.Println("  the tray is measured by the tray's own D-Bus test (it logs change-to-menu times); this table is the window's")
}
