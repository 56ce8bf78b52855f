package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// loadRound is one cold load of the session list: times from the start of
// the navigation (the Performance API's origin), and the bytes moved.
type loadRound struct {
	firstPaint, fcp, ready time.Duration
	bytes                  int64
	requests               int
}

// readyScript runs in every new document before the page's own scripts:
// it notes when the session view is ready with every session's row.
const readyScript = `(() => {
	const want = %d;
	const check = () => {
		if (window.__wbReady) return;
		if (document.querySelector('main#view[data-view="sessions"][data-ready="1"]') &&
			document.querySelectorAll('#sessions tr[data-session]').length >= want) {
			window.__wbReady = performance.now();
		}
	};
	new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})()`

// traffic sums what the tab received: each finished response's encoded
// length (headers included), and for a response still streaming (the
// event stream) the bytes received so far.
type traffic struct {
	mu       sync.Mutex
	on       bool
	finished map[network.RequestID]float64
	partial  map[network.RequestID]float64
}

func (tr *traffic) listen(ev any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !tr.on {
		return
	}
	switch ev := ev.(type) {
	case *network.EventDataReceived:
		tr.partial[ev.RequestID] += float64(ev.EncodedDataLength)
	case *network.EventLoadingFinished:
		tr.finished[ev.RequestID] = ev.EncodedDataLength
	}
}

func (tr *traffic) start() {
	tr.mu.Lock()
	tr.on, tr.finished, tr.partial = true, map[network.RequestID]float64{}, map[network.RequestID]float64{}
	tr.mu.Unlock()
}

func (tr *traffic) total() (bytes int64, requests int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	sum := 0.0
	for _, n := range tr.finished {
		sum += n
	}
	for id, n := range tr.partial {
		if _, ok := tr.finished[id]; !ok {
			sum += n
			requests++
		}
	}
	return int64(sum), requests + len(tr.finished)
}

// loadRows logs in a fresh browser context each round, then loads the
// session list with the cache disabled.
func (b *bench) loadRows(ctx context.Context) ([]loadRound, error) {
	logf("cold loads: %d rounds", b.rounds)
	var out []loadRound
	for i := range b.rounds {
		r, err := b.coldLoad(ctx)
		if err != nil {
			return nil, fmt.Errorf("cold load %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (b *bench) coldLoad(ctx context.Context) (loadRound, error) {
	tab, cancel := chromedp.NewContext(b.browser, chromedp.WithNewBrowserContext())
	defer cancel()
	u, err := b.loginURL()
	if err != nil {
		return loadRound{}, err
	}
	tr := &traffic{}
	if err := chromedp.Do(tab); err != nil {
		return loadRound{}, err
	}
	if err := chromedp.Listen(tab, tr.listen); err != nil {
		return loadRound{}, err
	}
	want := b.sessions + 1
	err = chromedp.Do(tab,
		chromedp.Navigate(u),
		chromedp.Navigate("about:blank"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
				return err
			}
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(readyScript, want)})
			return err
		}),
		chromedp.Func(func(context.Context, *chromedp.Target) error { tr.start(); return nil }),
		chromedp.Navigate(b.base+"/#/sessions"),
	)
	if err != nil {
		return loadRound{}, err
	}
	wctx, wcancel := context.WithTimeout(tab, 30*time.Second)
	defer wcancel()
	ready, err := chromedp.Run(wctx, chromedp.Poll[float64](`window.__wbReady`, chromedp.WithPollingTimeout(0)))
	if err != nil {
		return loadRound{}, fmt.Errorf("waiting for the list of %d sessions: %w", want, err)
	}
	paints, err := chromedp.Run(tab, chromedp.Evaluate[map[string]float64](
		`Object.fromEntries(performance.getEntriesByType("paint").map(e => [e.name, e.startTime]))`))
	if err != nil {
		return loadRound{}, err
	}
	r := loadRound{firstPaint: ms(paints["first-paint"]), fcp: ms(paints["first-contentful-paint"]), ready: ms(ready)}
	r.bytes, r.requests = tr.total()
	return r, nil
}

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
