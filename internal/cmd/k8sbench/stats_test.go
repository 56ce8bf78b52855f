package main

import (
	"testing"
	"time"
)

func TestPct(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	for _, c := range []struct {
		name string
		ds   []time.Duration
		p    float64
		want float64
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 90, 7},
		{"p50 of five, unsorted", ms(5, 1, 4, 2, 3), 50, 3},
		{"p90 of ten", ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 90, 9},
	} {
		if got := pct(c.ds, c.p); got != c.want {
			t.Errorf("%s: pct = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseCurl(t *testing.T) {
	got, err := parseCurl("here", []byte("200 0.004 0.0055"))
	if err != nil || got.tls != 4*time.Millisecond || got.total != 5500*time.Microsecond {
		t.Errorf("parseCurl = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "000 0.000000 0.000149", "200 x 0.1", "200 0.1"} {
		if _, err := parseCurl("here", []byte(bad)); err == nil {
			t.Errorf("parseCurl(%q) did not fail", bad)
		}
	}
}
