package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// treeRSS sums the resident memory of pid and every process descending
// from it (WebKitWebProcess and WebKitNetworkProcess are the app's
// children), in bytes: RSS, which counts the libraries they share once
// per process, and PSS, which splits shared pages among their sharers. It
// answers how many processes it counted.
func treeRSS(pid int) (rssB, pssB int64, n int, err error) {
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	in := func(p int) bool {
		for n := 0; p > 1 && n < 64; n++ {
			if p == pid {
				return true
			}
			p = parent[p]
		}
		return false
	}
	for p := range parent {
		if !in(p) {
			continue
		}
		r, err := field(fmt.Sprintf("/proc/%d/status", p), "VmRSS:")
		if err != nil {
			continue // it exited meanwhile
		}
		ps, err := field(fmt.Sprintf("/proc/%d/smaps_rollup", p), "Pss:")
		if err != nil {
			continue
		}
		rssB += r << 10
		pssB += ps << 10
		n++
	}
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("process %d is gone", pid)
	}
	return rssB, pssB, n, nil
}

// field answers the kB value of a /proc file's line starting with name.
func field(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, path)
}

type rss struct {
	bytes, pss int64
	procs      int
}

// settledRSS samples the tree's RSS every 250 ms until two samples a
// second apart differ by under 1%, at most 15 s: right after a render
// WebKit is still growing and freeing.
func settledRSS(pid int) (rss, error) {
	var prev int64
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(time.Second)
		cur, pss, n, err := treeRSS(pid)
		if err != nil {
			return rss{}, err
		}
		d := cur - prev
		if d < 0 {
			d = -d
		}
		if prev > 0 && d*100 < prev || time.Now().After(deadline) {
			return rss{cur, pss, n}, nil
		}
		prev = cur
	}
}
