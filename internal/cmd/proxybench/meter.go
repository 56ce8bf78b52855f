package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/atomicfile"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
)

// The usage rows compare clauderon's proxy with its usage accounting on and
// off, side by side in the same client run. Only the daemon turns it on
// (clauderon exec does not), and the proxy has the switch already: with
// Config.Usage nil no meter wraps the response, and with Config.Budget nil
// no budget is asked. The `meterproxy` subcommand builds the proxy as
// `clauderon exec` does (same rules, authorizer, audit log, logger, one P)
// and sets those two fields or not:
//
//   - off: neither (what `clauderon exec` runs);
//   - meter: the meter reads every /v1/messages answer (JSON, and SSE's
//     message_start and message_delta) and Usage sums it in memory; Budget
//     compares the sum with a cap;
//   - ledger: the same, and per answer what the daemon's ledger does
//     (session.Manager.RecordUsage, session/usage.go): the sum kept in
//     memory in the handler, the usage marshalled for the event stream, and
//     the session's and the day's totals rewritten with atomicfile (a synced
//     temp file, renamed, the directory synced) by a writer of its own right
//     after, which coalesces what piles up while it writes.
//
// Two "off" proxies run, so that the table shows the noise between two
// identical setups next to the difference the accounting makes.
//
// They take turns in a run of their own, with direct again (for the added
// latency), after the main rows, in a new random order each round: the
// ledger's writes happen after its answer went out, and a setup that always
// came next would pay for them. Besides the latency and first-SSE-event
// runs (n and usageSSERounds rounds), a back-to-back run sends
// usageB2BBlock requests in a row on one connection per turn, the next as
// soon as an answer is read, as a client that does not wait would: there
// what the handler does after the answer (the ledger's writes) delays the
// next request.
const (
	usageSSERounds, usageSSEWarmup = 1000, 20
	usageB2BRounds, usageB2BBlock  = 100, 11 // the first of each block follows another setup: not counted
)

// usageAnswers is how many Messages answers each usage row's proxy sees
// in a run of n latency rounds.
func usageAnswers(n int) int64 {
	return int64(n + 50 + usageSSERounds + usageSSEWarmup + usageB2BRounds*usageB2BBlock)
}

// usageDirect is direct in the usage run.
const usageDirect = "usage:direct"

const (
	usageOff    = "usage-off"
	usageOff2   = "usage-off-2"
	usageMeter  = "usage-meter"
	usageLedger = "usage-ledger"
)

// usageSetups are the usage rows' proxies and the mode each runs.
var usageSetups = []struct{ name, mode string }{
	{usageOff, "off"}, {usageOff2, "off"}, {usageMeter, "meter"}, {usageLedger, "ledger"},
}

// meterCanary is the credential the usage rows' proxies inject.
const meterCanary = "sk-ant-oat01-CANARY-bench-meter-0000000000"

// staticSource is a secret.Source with one token.
type staticSource struct{ tok secret.Token }

func (s staticSource) Get(context.Context, string) (secret.Token, secret.Origin, error) {
	return s.tok, secret.OriginEnv, nil
}

// benchLedger is what the usage callback keeps.
type benchLedger struct {
	dir     string
	persist bool // ledger mode: write as the daemon does
	mu      sync.Mutex
	models  map[string]api.Tokens
	day     map[string]api.Tokens
	answers int64
	tokens  int64
	errs    int64
	writing bool // the writer runs; dirty says it has more to write
	dirty   bool
}

func (l *benchLedger) record(_ string, u proxy.Usage) {
	t := api.Tokens{Input: u.InputTokens, Output: u.OutputTokens,
		CacheWrite: u.CacheWriteTokens, CacheRead: u.CacheReadTokens, Requests: 1}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers++
	l.tokens += t.Total()
	l.models[u.Model] = l.models[u.Model].Add(t)
	l.day[u.Model] = l.day[u.Model].Add(t)
	if !l.persist {
		return
	}
	var sum api.Tokens
	for _, t := range l.models {
		sum = sum.Add(t)
	}
	_, _ = json.Marshal(api.Usage{Tokens: sum}) // the event stream's copy
	l.dirty = true
	if !l.writing {
		l.writing = true
		go l.write()
	}
}

// write saves the totals until nothing changed since, as the daemon's
// ledger writer does: marshalled under the lock, written without it.
func (l *benchLedger) write() {
	l.mu.Lock()
	for l.dirty {
		l.dirty = false
		entry, _ := json.Marshal(map[string]any{"models": l.models, "tree": l.models})
		day, _ := json.Marshal(l.day)
		l.mu.Unlock()
		var errs int64
		if atomicfile.Write(filepath.Join(l.dir, "usage.json"), entry, 0o600) != nil {
			errs++
		}
		if atomicfile.Write(filepath.Join(l.dir, "usage", time.Now().Format("2006-01-02")+".json"), day, 0o600) != nil {
			errs++
		}
		l.mu.Lock()
		l.errs += errs
	}
	l.writing = false
	l.mu.Unlock()
}

// budget refuses nothing in practice; it takes the lock and compares, as
// the daemon's CheckBudget does.
func (l *benchLedger) budget(string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokens > 1<<60 {
		return errors.New("clauderon: the bench's budget is spent")
	}
	return nil
}

func meterProxyMain(args []string) error {
	fs := flag.NewFlagSet("meterproxy", flag.ExitOnError)
	upstream := fs.String("upstream", "", "the upstream's address")
	upstreamCA := fs.String("upstream-ca", "", "the upstream's CA file")
	dir := fs.String("dir", "", "this proxy's own directory: its CA, audit log and usage files")
	mode := fs.String("usage", "off", `"off", "meter" or "ledger" (see meter.go)`)
	_ = fs.Parse(args)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1) // as clauderon exec runs its proxy
	}
	if *upstream == "" || *upstreamCA == "" || *dir == "" {
		return errors.New("-upstream, -upstream-ca and -dir are required")
	}
	if err := os.MkdirAll(filepath.Join(*dir, "usage"), 0o700); err != nil {
		return err
	}
	ca, err := proxy.LoadOrCreateCA(*dir)
	if err != nil {
		return err
	}
	rules, err := proxy.DefaultRules().WithUpstreams(map[string]config.Upstream{
		proxy.AnthropicHost: {Address: *upstream, CAFile: *upstreamCA},
	})
	if err != nil {
		return err
	}
	tok, err := secret.ParseToken(meterCanary)
	if err != nil {
		return err
	}
	pass, err := proxy.NewSecret()
	if err != nil {
		return err
	}
	auth := proxy.NewSessions()
	if err := auth.Set("bench", pass); err != nil {
		return err
	}
	audit, err := proxy.OpenAudit(filepath.Join(*dir, proxy.AuditFile), 0)
	if err != nil {
		return err
	}
	defer audit.Close()
	logFile, err := os.OpenFile(filepath.Join(*dir, "exec.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cfg := proxy.Config{CA: ca, Rules: rules, Auth: auth, Credentials: staticSource{tok}, Audit: audit,
		Logger: slog.New(slog.NewTextHandler(logFile, nil)), AllowDial: proxy.AllowAllDials}
	l := &benchLedger{dir: *dir, models: map[string]api.Tokens{}, day: map[string]api.Tokens{}}
	switch *mode {
	case "off":
	case "ledger":
		l.persist = true
		fallthrough
	case "meter":
		cfg.Usage, cfg.Budget = l.record, l.budget
	default:
		return fmt.Errorf("-usage %q: want off, meter or ledger", *mode)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://bench:%s@%s %s\n", pass, ln.Addr(), ca.CertPath())
	// SIGTERM ends it; it then says how many answers its meter counted,
	// so the run can check the meter saw every one.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := p.Serve(ctx, ln); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Printf("%d %d %d\n", l.answers, l.tokens, l.errs)
	return nil
}

// startMeterProxy starts a usage row's proxy and returns its -via value
// and a stop function that reports the answers its meter counted.
func startMeterProxy(self, tmp string, upstream, upstreamCA, name, mode string) (string, func() (answers, tokens, errs int64, err error), error) {
	dir := filepath.Join(tmp, name)
	cmd := exec.Command(self, "meterproxy", "-upstream", upstream, "-upstream-ca", upstreamCA, "-dir", dir, "-usage", mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	var url, ca string
	if _, err := fmt.Fscan(out, &url, &ca); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, fmt.Errorf("no address from %s: %w", name, err)
	}
	stop := func() (answers, tokens, errs int64, err error) {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, serr := fmt.Fscan(out, &answers, &tokens, &errs)
		werr := cmd.Wait()
		if serr != nil || werr != nil {
			return 0, 0, 0, fmt.Errorf("%s did not report its count: %v %v", name, serr, werr)
		}
		return answers, tokens, errs, nil
	}
	return fmt.Sprintf("%s,%s,%s,%d,%s", name, url, ca, cmd.Process.Pid, rowsUsage), stop, nil
}

// usageRun measures the usage rows' proxies, with direct, taking turns in
// a new random order each round.
func usageRun(o clientOpts, us []*setup, ms map[string]*measurement) error {
	tr, err := o.transport(false, "", o.UpstreamCA)
	if err != nil {
		return err
	}
	ss := append([]*setup{{name: usageDirect, c: &http.Client{Transport: tr}, rows: rowsUsage}}, us...)
	ms[usageDirect] = &measurement{IdleConnKiB: -1}
	cpu0 := map[string]time.Duration{}
	startCPU := func() (err error) {
		for _, s := range ss {
			if cpu0[s.name], err = cpuTime(s.proxyPID); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		return nil
	}
	lat, err := shuffledTurns(ss, o.N, 50, startCPU, latencyRequest)
	if err != nil {
		return err
	}
	for _, s := range ss {
		cpu, err := cpuTime(s.proxyPID)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		m := ms[s.name]
		m.P50ms, m.P99ms = percentile(lat[s.name], 0.5), percentile(lat[s.name], 0.99)
		m.ProxyCPUPerReq = float64(cpu-cpu0[s.name]) / float64(time.Microsecond) / float64(o.N)
	}
	sse, err := shuffledTurns(ss, usageSSERounds, usageSSEWarmup, nil, firstSSEEvent)
	if err != nil {
		return err
	}
	for name, d := range sse {
		ms[name].SSEFirstP50ms = percentile(d, 0.5)
	}
	b2b := map[string][]time.Duration{}
	_, err = shuffledTurns(ss, usageB2BRounds, 0, nil, func(s *setup) (time.Duration, error) {
		for k := range usageB2BBlock {
			d, err := latencyRequest(s)
			if err != nil {
				return 0, err
			}
			if k > 0 {
				b2b[s.name] = append(b2b[s.name], d)
			}
		}
		return 0, nil
	})
	if err != nil {
		return err
	}
	for name, d := range b2b {
		ms[name].BackToBackP50ms, ms[name].BackToBackP99ms = percentile(d, 0.5), percentile(d, 0.99)
	}
	return nil
}

// printUsageTable prints the usage rows: the proxy with its accounting off
// (twice: the spread between the two is the run's noise) and on.
func printUsageTable(ms map[string]*measurement, metered map[string]int64) {
	d, off, off2, met, led := ms[usageDirect], ms[usageOff], ms[usageOff2], ms[usageMeter], ms[usageLedger]
	var b strings.Builder
	fmt.Fprintf(&b, "\n| usage accounting (clauderon's proxy as exec builds it; same run, taking turns in random order; added = minus direct's %.3f ms, first SSE event %.3f ms, back to back %.3f ms) |", d.P50ms, d.SSEFirstP50ms, d.BackToBackP50ms)
	fmt.Fprintf(&b, " off | off, a second proxy | on: meter | on: meter + the daemon's ledger writes | meter / off | meter + ledger / off | second off / off (noise) |\n|---|---|---|---|---|---|---|---|\n")
	row := func(name, unit, format string, v func(*measurement) float64) {
		o, o2, m, l := v(off), v(off2), v(met), v(led)
		fmt.Fprintf(&b, "| %s | "+format+" %s | "+format+" %s | "+format+" %s | "+format+" %s | %.2fx | %.2fx | %.2fx |\n",
			name, o, unit, o2, unit, m, unit, l, unit, m/o, l/o, o2/o)
	}
	row("latency p50 (keep-alive, small JSON)", "ms", "%.3f", func(m *measurement) float64 { return m.P50ms })
	row("latency p99", "ms", "%.3f", func(m *measurement) float64 { return m.P99ms })
	added := func(m *measurement) float64 { return m.P50ms - d.P50ms }
	row("added latency p50 (minus direct's)", "ms", "%.3f", added)
	row("proxy CPU per request (latency run)", "µs", "%.0f", func(m *measurement) float64 { return m.ProxyCPUPerReq })
	row("first SSE event p50", "ms", "%.3f", func(m *measurement) float64 { return m.SSEFirstP50ms })
	addedSSE := func(m *measurement) float64 { return m.SSEFirstP50ms - d.SSEFirstP50ms }
	row("added to first SSE event p50", "ms", "%.3f", addedSSE)
	row(fmt.Sprintf("back to back on one connection, p50 (%d × %d requests)", usageB2BRounds, usageB2BBlock-1), "ms", "%.3f", func(m *measurement) float64 { return m.BackToBackP50ms })
	row("back to back, p99", "ms", "%.3f", func(m *measurement) float64 { return m.BackToBackP99ms })
	addedB2B := func(m *measurement) float64 { return m.BackToBackP50ms - d.BackToBackP50ms }
	row("added back to back p50", "ms", "%.3f", addedB2B)
	fmt.Fprintf(&b, "\nanswers the meter counted (JSON and SSE /v1/messages): meter %d, meter + ledger %d, every one sent through them; the off proxies count none (Config.Usage and Config.Budget nil: no meter wraps the response)\n",
		metered[usageMeter], metered[usageLedger])
	// Within noise: on is slower than off by no more than the two off
	// proxies differ from each other, or 5 %, whichever is more.
	noise := func(v func(*measurement) float64) float64 { return max(math.Abs(v(off2)/v(off)-1), 0.05) }
	within := func(on *measurement, v func(*measurement) float64) string {
		r := v(on) / v(off)
		return fmt.Sprintf("%.2fx: %v", r, r <= 1+noise(v))
	}
	fmt.Fprintf(&b, "goal: no difference beyond noise (on / off at most 1 + the two off proxies' spread, at least 5 %%): added latency p50: meter %s, meter + ledger %s (noise %.0f %%); added to first SSE event: meter %s, meter + ledger %s (noise %.0f %%); added back to back: meter %s, meter + ledger %s (noise %.0f %%)\n",
		within(met, added), within(led, added), 100*noise(added), within(met, addedSSE), within(led, addedSSE), 100*noise(addedSSE),
		within(met, addedB2B), within(led, addedB2B), 100*noise(addedB2B))
	fmt.Print(b.String())
}
