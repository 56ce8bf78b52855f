package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// webPage is one logged-in tab of the web UI and what it received.
type webPage struct {
	t    *testing.T
	ctx  context.Context
	base string // http://127.0.0.1:PORT
	net  *netRecord
}

// netRecord keeps the ids of every response the tab finished loading and
// every WebSocket frame it received, so a test can read all of them back.
type netRecord struct {
	mu       sync.Mutex
	finished []network.RequestID
	urls     map[network.RequestID]string
	frames   [][]byte
}

func (n *netRecord) listen(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		n.urls[ev.RequestID] = ev.Response.URL
	case *network.EventLoadingFinished:
		n.finished = append(n.finished, ev.RequestID)
	case *network.EventWebSocketFrameReceived:
		if ev.Response != nil {
			n.frames = append(n.frames, ev.Response.PayloadData)
		}
	}
}

// newWebPage opens a tab recording its network traffic from the start.
func newWebPage(t *testing.T, base string) *webPage {
	t.Helper()
	p := &webPage{t: t, ctx: newTab(t), base: base, net: &netRecord{urls: map[network.RequestID]string{}}}
	if err := chromedp.Listen(p.ctx, p.net.listen); err != nil {
		t.Fatal(err)
	}
	return p
}

// bodies answers every response body the tab received (the ones the
// browser still holds), with its URL.
func (p *webPage) bodies() map[string][]byte {
	p.t.Helper()
	p.net.mu.Lock()
	ids := append([]network.RequestID(nil), p.net.finished...)
	urls := make(map[network.RequestID]string, len(p.net.urls))
	for k, v := range p.net.urls {
		urls[k] = v
	}
	frames := append([][]byte(nil), p.net.frames...)
	p.net.mu.Unlock()
	out := map[string][]byte{}
	for _, id := range ids {
		res, err := chromedp.Call(p.ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		if err != nil {
			continue // a redirect, a 204, or evicted: nothing the page can read
		}
		out[fmt.Sprintf("%s (%s)", urls[id], id)] = res.Body
	}
	out["websocket frames"] = bytes.Join(frames, nil)
	return out
}

// deadline bounds a wait: the test's deadline, else three minutes (a
// session's container start on a loaded machine).
func (p *webPage) waitCtx() (context.Context, context.CancelFunc) {
	d := 3 * time.Minute
	if dl, ok := p.t.Deadline(); ok && time.Until(dl)-10*time.Second < d {
		d = time.Until(dl) - 10*time.Second
	}
	return context.WithTimeout(p.ctx, d)
}

// do runs actions, failing the test (with a screenshot) on an error.
func (p *webPage) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.waitCtx()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

// wait polls the JavaScript expression (in the page, at every DOM change
// and every 50 ms) until it is truthy, and answers its value as JSON.
func (p *webPage) wait(what, expr string) json.RawMessage {
	p.t.Helper()
	ctx, cancel := p.waitCtx()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[[]byte](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		p.fail("waiting for %s: %v", what, err)
	}
	return v
}

// waitMutation is wait at every DOM mutation only: the tightest watch of
// a DOM change, for measuring how soon one shows.
func (p *webPage) waitMutation(what, expr string) {
	p.t.Helper()
	ctx, cancel := p.waitCtx()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0))); err != nil {
		p.fail("waiting for %s: %v", what, err)
	}
}

// eval evaluates expr and decodes its value into out (nil: ignored).
func (p *webPage) eval(expr string, out any) {
	p.t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		p.fail("evaluating %s: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.fail("decoding %s of %s: %v", raw, expr, err)
		}
	}
}

// text is the trimmed textContent of the first element matching css, or
// "" when there is none.
func (p *webPage) text(css string) string {
	p.t.Helper()
	var s string
	p.eval(fmt.Sprintf(`(document.querySelector(%s)?.textContent ?? "").trim()`, jsString(css)), &s)
	return s
}

// view goes to the hash route and waits until its view loaded its data.
func (p *webPage) view(hash, view string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`location.hash = %s`, jsString(hash)), nil)
	p.waitView(view)
}

func (p *webPage) waitView(view string) {
	p.t.Helper()
	p.wait("the "+view+" view to be ready", fmt.Sprintf(`document.querySelector('main#view[data-view=%s][data-ready="1"]') !== null`, jsString(view)))
}

// fill sets a form's fields by name, as typing would: the value, then an
// input and a change event. A select must come to offer the value (its
// options may load after the view is ready) within 30 seconds.
func (p *webPage) fill(form string, fields map[string]string) {
	p.t.Helper()
	b, _ := json.Marshal(fields)
	lacking := fmt.Sprintf(`(() => {
		const f = document.querySelector(%s);
		if (!f) return "the form itself";
		for (const [k, v] of Object.entries(%s)) {
			const el = f.elements[k];
			if (!el) return k;
			if (el.tagName === "SELECT" && ![...el.options].some(o => o.value === v)) return k + " (no option " + v + ")";
		}
		return "";
	})()`, jsString(form), b)
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](lacking+` === ""`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))); err != nil {
		var missing string
		p.eval(lacking, &missing)
		p.fail("form %s lacks the field %s", form, missing)
	}
	p.eval(fmt.Sprintf(`(() => {
		const f = document.querySelector(%s);
		for (const [k, v] of Object.entries(%s)) {
			const el = f.elements[k];
			el.value = v;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		}
	})()`, jsString(form), b), nil)
}

// typeText types s into the element matching css as a keyboard would:
// each character a keyDown carrying its text, then a keyUp. (chromedp's
// SendKeys adds a char event after the keyDown, which xterm.js takes as a
// second keystroke.)
func (p *webPage) typeText(css, s string) {
	p.t.Helper()
	p.do("focusing "+css, chromedp.Focus(chromedp.CSS(css)))
	for _, r := range s {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
			ev := input.DispatchKeyEventParams{Type: typ, Key: string(r)}
			if typ == input.DispatchKeyEventTypeKeyDown {
				ev.Text = string(r)
			}
			if _, err := chromedp.Call(p.ctx, input.DispatchKeyEvent, ev); err != nil {
				p.fail("typing %q: %v", r, err)
			}
		}
	}
}

// confirm clicks the open dialog's confirm button.
func (p *webPage) confirm(what string) {
	p.t.Helper()
	p.wait("the "+what+" dialog", `document.querySelector("dialog[open] button[data-confirm]") !== null`)
	p.do("confirming "+what, chromedp.Click(chromedp.CSS(`dialog[open] button[data-confirm]`)))
}

// confirmUntil confirms a dialog whenever one opens, until done holds:
// an action may or may not ask first, and may ask after a fetch.
func (p *webPage) confirmUntil(what string, done func() bool) {
	p.t.Helper()
	waitFor(p.t, what, func() bool {
		if p.present(`dialog[open] button[data-confirm]`) {
			p.do("confirming "+what, chromedp.Click(chromedp.CSS(`dialog[open] button[data-confirm]`)))
		}
		return done()
	})
}

// present tells whether an element matching css exists now.
func (p *webPage) present(css string) bool {
	p.t.Helper()
	var ok bool
	p.eval(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(css)), &ok)
	return ok
}

// fail saves a screenshot and the view's text, then fails the test.
func (p *webPage) fail(format string, args ...any) {
	p.t.Helper()
	screenshot(p.t, p.ctx, "failure-"+strings.NewReplacer("/", "-", " ", "-").Replace(p.t.Name()))
	var view, toast string
	if raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.querySelector("#view")?.outerHTML ?? document.documentElement.outerHTML).slice(0, 4000)`)); err == nil {
		view = raw
	}
	if raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("#toast")?.textContent ?? ""`)); err == nil {
		toast = raw
	}
	p.t.Fatalf(format+"\nthe view: %q\nthe toast: %q", append(args, view, toast)...)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
